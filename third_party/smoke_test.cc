// Proves that each of Debian's packaged libraries is found, links and works under Bazel.

#include <llhttp.h>
#include <nghttp2/nghttp2.h>
#include <openssl/base.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>

#include <cstring>
#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/str_format.h"
#include "gtest/gtest.h"

namespace {

TEST(ThirdPartySmoke, BoringSslIsBoringSsl) {
#ifndef OPENSSL_IS_BORINGSSL
  FAIL() << "openssl headers are not BoringSSL's";
#endif
  const char kInput[] = "abc";
  uint8_t digest[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const uint8_t*>(kInput), 3, digest);
  EXPECT_EQ(digest[0], 0xba);
  EXPECT_EQ(digest[31], 0xad);
  SSL_CTX* ctx = SSL_CTX_new(TLS_method());
  ASSERT_NE(ctx, nullptr);
  SSL_CTX_free(ctx);
}

struct ParsedRequest {
  std::string url;
  bool complete = false;
};

TEST(ThirdPartySmoke, LlhttpParsesARequest) {
  llhttp_settings_t settings;
  llhttp_settings_init(&settings);
  settings.on_url = [](llhttp_t* p, const char* at, size_t len) {
    static_cast<ParsedRequest*>(p->data)->url.append(at, len);
    return 0;
  };
  settings.on_message_complete = [](llhttp_t* p) {
    static_cast<ParsedRequest*>(p->data)->complete = true;
    return 0;
  };
  llhttp_t parser;
  llhttp_init(&parser, HTTP_REQUEST, &settings);
  ParsedRequest parsed;
  parser.data = &parsed;
  const char kRequest[] = "GET /hello?x=1 HTTP/1.1\r\nHost: example\r\n\r\n";
  ASSERT_EQ(llhttp_execute(&parser, kRequest, strlen(kRequest)), HPE_OK);
  EXPECT_EQ(parsed.url, "/hello?x=1");
  EXPECT_TRUE(parsed.complete);
  EXPECT_EQ(parser.method, HTTP_GET);
}

TEST(ThirdPartySmoke, Nghttp2ReportsAVersion) {
  nghttp2_info* info = nghttp2_version(0);
  ASSERT_NE(info, nullptr);
  EXPECT_GE(info->version_num, 0x013400);  // 1.52.0, Debian 12's version
  EXPECT_STREQ(info->proto_str, "h2");
}

TEST(ThirdPartySmoke, AbseilStatusAndFormat) {
  absl::StatusOr<int> value = absl::InvalidArgumentError("bad");
  EXPECT_FALSE(value.ok());
  EXPECT_EQ(absl::StrFormat("%s:%d", value.status().message(), 7), "bad:7");
}

}  // namespace
