// Tests of keel::fs's free functions and read_dir on every flavour, each run in a fresh
// temporary directory: round trips, errors naming the path, create_dir_all / remove_dir_all
// of a nested tree (not following links), copy, rename, metadata, exists, and read_dir of a
// large directory, including cancelled next() calls.

#include "runtime/fs/fs.h"

#include <sys/stat.h>
#include <unistd.h>

#include <set>
#include <string>

#include "gtest/gtest.h"
#include "runtime/fs/fs_test_util.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel::fs {
namespace {

using testing::fresh_dir;
using testing::get;
using testing::present;
using testing::put;

mode_t current_umask() {
  mode_t m = ::umask(0);
  ::umask(m);
  return m;
}

Task<int> ready_now() { co_return 1; }

KEEL_TEST(Fs, WriteReadRoundTrip) {
  std::string dir = fresh_dir();
  std::string p = dir + "/a.txt";
  KEEL_ASSERT_OK(co_await write(p, "hello, keel\n"));
  EXPECT_EQ(get(p), "hello, keel\n");
  absl::StatusOr<std::string> r = co_await read(p);
  KEEL_ASSERT_OK(r);
  EXPECT_EQ(*r, "hello, keel\n");
  r = co_await read_to_string(p);
  KEEL_ASSERT_OK(r);
  EXPECT_EQ(*r, "hello, keel\n");
  // write() truncates.
  KEEL_ASSERT_OK(co_await write(p, "x"));
  EXPECT_EQ(get(p), "x");
  // Binary data and a larger file.
  std::string big(3 * 1024 * 1024 + 17, '\0');
  for (std::size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 7);
  KEEL_ASSERT_OK(co_await write(dir + "/big", big));
  r = co_await read(dir + "/big");
  KEEL_ASSERT_OK(r);
  EXPECT_TRUE(*r == big);

  absl::StatusOr<Metadata> md = co_await metadata(p);
  KEEL_ASSERT_OK(md);
  EXPECT_TRUE(md->is_file());
  EXPECT_FALSE(md->is_dir());
  EXPECT_EQ(md->len(), 1u);
  EXPECT_EQ(md->permissions(), 0666u & ~current_umask());
  EXPECT_GT(md->modified().time_since_epoch().count(), 0);
  md = co_await metadata(dir);
  KEEL_ASSERT_OK(md);
  EXPECT_TRUE(md->is_dir());
  EXPECT_EQ(md->file_type(), FileType::kDir);
}

KEEL_TEST(Fs, ErrorsNameTheOperationAndPath) {
  std::string dir = fresh_dir();
  std::string missing = dir + "/missing";
  absl::StatusOr<std::string> r = co_await read(missing);
  EXPECT_TRUE(absl::IsNotFound(r.status()));
  EXPECT_EQ(r.status().message(), "open " + missing + ": No such file or directory");
  absl::Status s = co_await remove_file(missing);
  EXPECT_EQ(s.message(), "remove_file " + missing + ": No such file or directory");
  s = co_await remove_dir(missing);
  EXPECT_EQ(s.message(), "remove_dir " + missing + ": No such file or directory");
  s = co_await remove_dir_all(missing);
  EXPECT_EQ(s.message(), "remove_dir_all " + missing + ": No such file or directory");
  absl::StatusOr<Metadata> md = co_await metadata(missing);
  EXPECT_EQ(md.status().message(), "metadata " + missing + ": No such file or directory");
  md = co_await symlink_metadata(missing);
  EXPECT_TRUE(absl::IsNotFound(md.status()));
  s = co_await create_dir(dir);
  EXPECT_TRUE(absl::IsAlreadyExists(s));
  EXPECT_EQ(s.message(), "create_dir " + dir + ": File exists");
  s = co_await rename(missing, dir + "/b");
  EXPECT_EQ(s.message(), "rename " + missing + " -> " + dir + "/b: No such file or directory");
  absl::StatusOr<std::uint64_t> c = co_await copy(missing, dir + "/b");
  EXPECT_TRUE(absl::IsNotFound(c.status()));
  EXPECT_NE(c.status().message().find(missing), absl::string_view::npos);
  s = co_await write(dir + "/no/such/dir/f", "x");
  EXPECT_EQ(s.message(), "open " + dir + "/no/such/dir/f: No such file or directory");
  r = co_await read(dir);
  EXPECT_EQ(r.status().message(), "read " + dir + ": Is a directory");
}

KEEL_TEST(Fs, ReadToStringRejectsInvalidUtf8) {
  std::string dir = fresh_dir();
  put(dir + "/bad", std::string("ok \xff\xfe", 5));
  put(dir + "/good", "gr\xc3\xbc\xc3\x9f dich \xe2\x82\xac \xf0\x9f\x98\x80");
  absl::StatusOr<std::string> r = co_await read_to_string(dir + "/bad");
  EXPECT_TRUE(absl::IsInvalidArgument(r.status())) << r.status();
  EXPECT_NE(r.status().message().find(dir + "/bad"), absl::string_view::npos);
  r = co_await read(dir + "/bad");
  KEEL_ASSERT_OK(r);  // read() does not care
  r = co_await read_to_string(dir + "/good");
  KEEL_ASSERT_OK(r);
}

KEEL_TEST(Fs, CreateDirAllAndRemoveDirAllOfANestedTree) {
  std::string dir = fresh_dir();
  std::string deep = dir + "/a/b/c/d";
  KEEL_ASSERT_OK(co_await create_dir_all(deep));
  EXPECT_TRUE(present(deep));
  KEEL_ASSERT_OK(co_await create_dir_all(deep));  // already there: fine
  KEEL_ASSERT_OK(co_await create_dir_all(dir + "/a/b/x/"));
  for (const char* f : {"/a/f1", "/a/b/f2", "/a/b/c/f3", "/a/b/c/d/f4", "/a/b/x/f5"}) {
    put(dir + f, f);
  }
  // A link inside the tree to a file and a directory outside: remove_dir_all removes the
  // links, not their targets.
  std::string outside = dir + "/keep";
  KEEL_ASSERT_OK(co_await create_dir(outside));
  put(outside + "/precious", "data");
  KEEL_ASSERT_OK(co_await symlink(outside, dir + "/a/b/link_dir"));
  KEEL_ASSERT_OK(co_await symlink(outside + "/precious", dir + "/a/link_file"));
  // A file in the way of create_dir_all.
  absl::Status s = co_await create_dir_all(dir + "/a/f1/sub");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.message(), "create_dir_all " + dir + "/a/f1: Not a directory");
  // remove_dir on a non-empty directory fails.
  s = co_await remove_dir(dir + "/a");
  EXPECT_FALSE(s.ok());
  EXPECT_TRUE(present(dir + "/a"));

  KEEL_ASSERT_OK(co_await remove_dir_all(dir + "/a"));
  EXPECT_FALSE(present(dir + "/a"));
  EXPECT_FALSE(co_await exists(dir + "/a"));
  EXPECT_EQ(get(outside + "/precious"), "data");
  // A file is not a directory.
  s = co_await remove_dir_all(outside + "/precious");
  EXPECT_EQ(s.message(), "remove_dir_all " + outside + "/precious: Not a directory");
  KEEL_ASSERT_OK(co_await remove_file(outside + "/precious"));
  KEEL_ASSERT_OK(co_await remove_dir(outside));
  EXPECT_FALSE(present(outside));
}

KEEL_TEST(Fs, CopyRenameLinksAndExists) {
  std::string dir = fresh_dir();
  std::string a = dir + "/a";
  put(a, "contents of a");
  KEEL_ASSERT_OK(co_await set_permissions(a, 0640));
  absl::StatusOr<std::uint64_t> n = co_await copy(a, dir + "/b");
  KEEL_ASSERT_OK(n);
  EXPECT_EQ(*n, 13u);
  EXPECT_EQ(get(dir + "/b"), "contents of a");
  absl::StatusOr<Metadata> md = co_await metadata(dir + "/b");
  KEEL_ASSERT_OK(md);
  EXPECT_EQ(md->permissions(), 0640u);

  KEEL_ASSERT_OK(co_await rename(dir + "/b", dir + "/c"));
  EXPECT_FALSE(co_await exists(dir + "/b"));
  EXPECT_TRUE(co_await exists(dir + "/c"));
  absl::StatusOr<bool> e = co_await try_exists(dir + "/c");
  KEEL_ASSERT_OK(e);
  EXPECT_TRUE(*e);
  e = co_await try_exists(dir + "/nope");
  KEEL_ASSERT_OK(e);
  EXPECT_FALSE(*e);
  e = co_await try_exists(dir + "/c/under_a_file");  // ENOTDIR: does not exist
  KEEL_ASSERT_OK(e);
  EXPECT_FALSE(*e);

  KEEL_ASSERT_OK(co_await symlink(a, dir + "/link"));
  md = co_await symlink_metadata(dir + "/link");
  KEEL_ASSERT_OK(md);
  EXPECT_TRUE(md->is_symlink());
  md = co_await metadata(dir + "/link");
  KEEL_ASSERT_OK(md);
  EXPECT_TRUE(md->is_file());
  EXPECT_EQ(md->len(), 13u);
  absl::StatusOr<std::string> target = co_await read_link(dir + "/link");
  KEEL_ASSERT_OK(target);
  EXPECT_EQ(*target, a);
  absl::StatusOr<std::string> canon = co_await canonicalize(dir + "/./link");
  KEEL_ASSERT_OK(canon);
  char* real = ::realpath(a.c_str(), nullptr);
  EXPECT_EQ(*canon, std::string(real));
  ::free(real);
  KEEL_ASSERT_OK(co_await hard_link(a, dir + "/hard"));
  md = co_await metadata(a);
  KEEL_ASSERT_OK(md);
  EXPECT_EQ(md->nlink(), 2u);
}

KEEL_TEST(Fs, ReadDirOfAThousandEntries) {
  std::string dir = fresh_dir();
  std::set<std::string> expected;
  for (int i = 0; i < 1000; ++i) {
    std::string name = "file_" + std::to_string(i);
    put(dir + "/" + name, "");
    expected.insert(name);
  }
  ::mkdir((dir + "/subdir").c_str(), 0755);
  expected.insert("subdir");

  std::set<std::string> seen;
  int dirs = 0;
  Stream<absl::StatusOr<DirEntry>> entries = read_dir(dir);
  while (std::optional<absl::StatusOr<DirEntry>> e = co_await entries.next()) {
    KEEL_ASSERT_OK(*e);
    const DirEntry& entry = **e;
    EXPECT_TRUE(seen.insert(entry.file_name()).second) << "twice: " << entry.file_name();
    EXPECT_EQ(entry.path(), dir + "/" + entry.file_name());
    if (entry.file_name() == "subdir") {
      ++dirs;
      absl::StatusOr<Metadata> md = co_await entry.metadata();
      KEEL_ASSERT_OK(md);
      EXPECT_TRUE(md->is_dir());
    }
  }
  EXPECT_EQ(seen, expected);
  EXPECT_EQ(dirs, 1);
  EXPECT_EQ(co_await entries.next(), std::nullopt);  // stays finished
}

KEEL_TEST(Fs, ReadDirCancelledNextLosesNothing) {
  std::string dir = fresh_dir();
  std::set<std::string> expected;
  for (int i = 0; i < 300; ++i) {
    std::string name = "e" + std::to_string(i);
    put(dir + "/" + name, "");
    expected.insert(name);
  }
  // A batch read on the pool may finish before the generator awaits it (a busy machine
  // preempts the worker), so list the directory again until some next() really was cancelled
  // mid-wait; every listing must still be complete.
  int cancelled = 0;
  for (int attempt = 0; attempt < 50 && cancelled == 0; ++attempt) {
    std::set<std::string> seen;
    Stream<absl::StatusOr<DirEntry>> entries = read_dir(dir);
    for (;;) {
      // Each next() first loses a select against a ready task (cancelled mid-wait when the
      // generator is waiting for a batch from the pool).
      auto lost = next_task(entries);
      auto r = co_await select(std::move(lost), ready_now());
      std::optional<absl::StatusOr<DirEntry>> e;
      if (r.index() == 0) {
        e = std::move(std::get<0>(r));
      } else {
        ++cancelled;
        e = co_await entries.next();
      }
      if (!e.has_value()) break;
      KEEL_ASSERT_OK(*e);
      EXPECT_TRUE(seen.insert((*e)->file_name()).second);
    }
    EXPECT_EQ(seen, expected);
  }
  EXPECT_GT(cancelled, 0);
}

KEEL_TEST(Fs, ReadDirErrorIsOneItem) {
  std::string dir = fresh_dir();
  Stream<absl::StatusOr<DirEntry>> entries = read_dir(dir + "/missing");
  std::optional<absl::StatusOr<DirEntry>> e = co_await entries.next();
  KEEL_ASSERT_TRUE(e.has_value());
  EXPECT_TRUE(absl::IsNotFound(e->status()));
  EXPECT_EQ(e->status().message(), "read_dir " + dir + "/missing: No such file or directory");
  EXPECT_EQ(co_await entries.next(), std::nullopt);
  // Dropping a stream in the middle closes the directory (checked by ASan's leak detector).
  put(dir + "/x", "");
  put(dir + "/y", "");
  Stream<absl::StatusOr<DirEntry>> partial = read_dir(dir);
  e = co_await partial.next();
  KEEL_ASSERT_TRUE(e.has_value() && e->ok());
}

}  // namespace
}  // namespace keel::fs
