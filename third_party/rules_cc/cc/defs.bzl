"""A rules_cc shim for Debian's Bazel 4.2.3.

Debian's bazel-rules-cc is too new for Bazel 4.2.3 (it loads `use_cpp_toolchain`), so this
file maps the modern `@rules_cc//cc:defs.bzl` names onto Bazel's native rules. Bazel's own
tools load several of these, so every name they use is bound.
"""

cc_binary = native.cc_binary
cc_import = native.cc_import
cc_library = native.cc_library
cc_proto_library = native.cc_proto_library
cc_test = native.cc_test
cc_toolchain = native.cc_toolchain
cc_toolchain_suite = native.cc_toolchain_suite
fdo_prefetch_hints = native.fdo_prefetch_hints
fdo_profile = native.fdo_profile
objc_import = native.objc_import
objc_library = native.objc_library
