// Outputs that never appear half written (runtime/file_io.hpp's StagedOutput): the name holds
// the old file, or nothing, until the new one is complete, even when the process is killed while
// writing; a new-only output never replaces what took its name meanwhile.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "micronas/error.hpp"
#include "runtime/file_io.hpp"
#include "tests/test_util.hpp"

namespace micronas {
namespace {

namespace fs = std::filesystem;

using test::read_file;
using test::write_file;

std::string fresh_dir(const std::string& name) { return test::temp_dir("staged_" + name); }

// The temporaries left in `dir`.
std::vector<std::string> temporaries(const std::string& dir) {
  std::vector<std::string> found;
  for (const auto& entry : fs::directory_iterator(dir))
    if (entry.path().filename().string().find(".partial-") != std::string::npos)
      found.push_back(entry.path().string());
  return found;
}

template <class F>
std::string error_of(F f) {
  try {
    f();
  } catch (const Error& e) {
    EXPECT_EQ(e.status(), Status::kIoError) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "no error thrown";
  return "";
}

TEST(StagedOutput, ANewFileAppearsOnlyWholeAndLeavesNoTemporary) {
  const std::string dir = fresh_dir("new"), path = dir + "/r.json";
  {
    StagedOutput out(path, Publish::kCreateNew);
    out.write("{\"a\": ");
    EXPECT_FALSE(fs::exists(path));  // nothing under the name while it is being written
    out.write("1}\n");
    out.publish();
  }
  EXPECT_EQ(read_file(path), "{\"a\": 1}\n");
  EXPECT_TRUE(temporaries(dir).empty());
  // An existing name is refused at the start, and the file is left as it was.
  EXPECT_NE(error_of([&] {
              StagedOutput again(path, Publish::kCreateNew);
            }).find(path + ": exists already"),
            std::string::npos);
  EXPECT_EQ(read_file(path), "{\"a\": 1}\n");
}

TEST(StagedOutput, AbandonedOrFailedOutputsLeaveNothing) {
  const std::string dir = fresh_dir("abandoned"), path = dir + "/r.csv";
  {
    StagedOutput out(path, Publish::kCreateNew);
    out.write("half a row");
  }  // destroyed before publish(): an exception on the way
  EXPECT_FALSE(fs::exists(path));
  EXPECT_TRUE(temporaries(dir).empty());
  // Something took the name while the output was being written: it is kept, not replaced.
  {
    StagedOutput out(path, Publish::kCreateNew);
    out.write("mine");
    write_file(path, "theirs");
    EXPECT_NE(error_of([&] { out.publish(); }).find(path + ": exists already"), std::string::npos);
  }
  EXPECT_EQ(read_file(path), "theirs");
  EXPECT_TRUE(temporaries(dir).empty());
  EXPECT_NE(error_of([&] { StagedOutput out(dir, Publish::kReplace); }).find("is a directory"),
            std::string::npos);
  EXPECT_NE(error_of([&] {
              StagedOutput out(dir + "/none/r.csv", Publish::kReplace);
            }).find(dir + "/none/r.csv: cannot create"),
            std::string::npos);
}

TEST(StagedOutput, AProcessKilledWhileWritingLeavesTheOldFileOrNone) {
  const std::string dir = fresh_dir("killed");
  const std::string fresh = dir + "/new.tflite", old = dir + "/checkpoint.json";
  write_file(old, "old checkpoint");
  const pid_t child = ::fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    StagedOutput a(fresh, Publish::kCreateNew), b(old, Publish::kReplace);
    a.write(std::string(1 << 16, 'x'));
    b.write("new chec");
    ::kill(::getpid(), SIGKILL);  // as `kill -9` in the middle of the writes
    ::_exit(0);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_FALSE(fs::exists(fresh));              // no partial model under its name
  EXPECT_EQ(read_file(old), "old checkpoint");  // the last whole checkpoint
  // What the killed process leaves is named as what it is.
  const std::vector<std::string> left = temporaries(dir);
  EXPECT_EQ(left.size(), 2u);
  for (const std::string& t : left)
    EXPECT_NE(t.find(".partial-" + std::to_string(child) + "-"), std::string::npos) << t;
}

TEST(StagedOutput, AReplacedFileKeepsItsPermissionsAndItsLinks) {
  const std::string dir = fresh_dir("replace"), path = dir + "/profile.json";
  write_file(path, "old");
  ASSERT_EQ(::chmod(path.c_str(), 0600), 0);
  {
    StagedOutput out(path, Publish::kReplace);
    out.write("new, longer");
    EXPECT_EQ(read_file(path), "old");  // the old file until the new one is whole
    out.publish();
  }
  EXPECT_EQ(read_file(path), "new, longer");
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // Through a symbolic link the file it names is replaced; the link stays a link.
  const std::string link = dir + "/current.json";
  fs::create_symlink(path, link);
  write_output_file(link, "via the link");
  EXPECT_TRUE(fs::is_symlink(link));
  EXPECT_EQ(read_file(path), "via the link");
  EXPECT_TRUE(temporaries(dir).empty());
  // A device is written in place (nothing is staged in /dev).
  write_output_file("/dev/null", "discarded");
  EXPECT_NE(error_of([] { write_output_file("/dev/full", "x"); }).find("/dev/full: write failed"),
            std::string::npos);
}

TEST(StagedOutput, DirectoriesTakeANameOnlyWhereNothingIs) {
  const std::string dir = fresh_dir("directories");
  const std::string staged = dir + "/ref.partial", final_name = dir + "/ref";
  fs::create_directory(staged);
  write_file(staged + "/inputs.npy", "x");
  rename_no_replace(staged, final_name);
  EXPECT_EQ(read_file(final_name + "/inputs.npy"), "x");
  fs::create_directory(staged);
  EXPECT_NE(error_of([&] {
              rename_no_replace(staged, final_name, "--reference");
            }).find("--reference: exists already"),
            std::string::npos);
  EXPECT_TRUE(fs::exists(staged));  // the caller's to remove
  EXPECT_EQ(read_file(final_name + "/inputs.npy"), "x");
}

}  // namespace
}  // namespace micronas
