// Tests of keel::run_blocking: the function's Status, or StatusOr value or error, comes back
// as the function returned it.
#include "runtime/blocking/run_blocking.h"

#include <memory>
#include <string>

#include "gtest/gtest.h"
#include "runtime/keel.h"
#include "runtime/test/keel_test.h"

namespace keel {
namespace {

KEEL_TEST(RunBlocking, GivesTheFunctionsStatus) {
  Task<absl::Status> ok_task = run_blocking([] { return absl::OkStatus(); });
  absl::Status ok = co_await std::move(ok_task);
  EXPECT_TRUE(ok.ok());
  Task<absl::Status> err_task = run_blocking([] { return absl::DataLossError("torn"); });
  absl::Status err = co_await std::move(err_task);
  EXPECT_EQ(err, absl::DataLossError("torn"));
}

KEEL_TEST(RunBlocking, GivesTheFunctionsValueOrError) {
  auto text = std::make_shared<std::string>("abc");
  Task<absl::StatusOr<std::string>> value_task =
      run_blocking([text]() -> absl::StatusOr<std::string> { return *text + "d"; });
  absl::StatusOr<std::string> v = co_await std::move(value_task);
  KEEL_ASSERT_OK(v);
  EXPECT_EQ(*v, "abcd");
  Task<absl::StatusOr<int>> error_task =
      run_blocking([]() -> absl::StatusOr<int> { return absl::NotFoundError("x"); });
  absl::StatusOr<int> e = co_await std::move(error_task);
  EXPECT_EQ(e.status(), absl::NotFoundError("x"));
}

}  // namespace
}  // namespace keel
