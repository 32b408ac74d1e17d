// Small pure pieces: size parsing, suppression patterns and files, JSON and XML escaping.
#include <gtest/gtest.h>

#include "report/error.h"
#include "report/escape.h"
#include "report/size_parse.h"
#include "report/suppressions.h"

namespace libleak {
namespace {

TEST(SizeParse, Units) {
  EXPECT_EQ(parse_size("0"), 0u);
  EXPECT_EQ(parse_size("4096"), 4096u);
  EXPECT_EQ(parse_size("4096B"), 4096u);
  EXPECT_EQ(parse_size("64KiB"), 65536u);
  EXPECT_EQ(parse_size("64K"), 65536u);
  EXPECT_EQ(parse_size("64KB"), 64000u);
  EXPECT_EQ(parse_size("1MiB"), 1048576u);
  EXPECT_EQ(parse_size("1M"), 1048576u);
  EXPECT_EQ(parse_size("1MB"), 1000000u);
  EXPECT_EQ(parse_size("2GiB"), 2147483648u);
  EXPECT_EQ(parse_size("2G"), 2147483648u);
  EXPECT_EQ(parse_size("2GB"), 2000000000u);
  EXPECT_EQ(parse_size("18446744073709551615"), UINT64_MAX);
}

TEST(SizeParse, RejectsEverythingElse) {
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1.5K", "1kib", "1KIB", "1X", "K", "0x10",
                          "18446744073709551616", "17179869184GiB", "1KiBB"}) {
    EXPECT_THROW(parse_size(bad), Error) << bad;
  }
}

TEST(SizeParse, HumanSize) {
  EXPECT_EQ(human_size(1023), "");
  EXPECT_EQ(human_size(1024), "1.0 KiB");
  EXPECT_EQ(human_size(160000), "156.2 KiB");
  EXPECT_EQ(human_size(3u << 30), "3.0 GiB");
}

TEST(SuppressionMatch, SubstringByDefault) {
  EXPECT_TRUE(suppression_matches("leak_double", "leak_double"));
  EXPECT_TRUE(suppression_matches("double", "my_leak_double_fn"));
  EXPECT_FALSE(suppression_matches("triple", "leak_double"));
  EXPECT_FALSE(suppression_matches("x", ""));
}

TEST(SuppressionMatch, Anchors) {
  EXPECT_TRUE(suppression_matches("^leak", "leak_double"));
  EXPECT_FALSE(suppression_matches("^double", "leak_double"));
  EXPECT_TRUE(suppression_matches("double$", "leak_double"));
  EXPECT_FALSE(suppression_matches("leak$", "leak_double"));
  EXPECT_TRUE(suppression_matches("^leak_double$", "leak_double"));
  EXPECT_FALSE(suppression_matches("^leak_double$", "leak_double2"));
  EXPECT_TRUE(suppression_matches("foo$", "foofoo"));  // not fooled by the first occurrence
}

TEST(SuppressionMatch, Wildcards) {
  EXPECT_TRUE(suppression_matches("leak*double", "leak_the_double"));
  EXPECT_TRUE(suppression_matches("^libfoo*.so$", "libfoo.so"));
  EXPECT_TRUE(suppression_matches("^libfoo*.so$", "libfoo-1.2.so"));
  EXPECT_FALSE(suppression_matches("^libfoo*.so$", "libfoo-1.2.so.3"));
  EXPECT_TRUE(suppression_matches("*", "anything"));
  EXPECT_TRUE(suppression_matches("a*b*c", "xxaxxbxxcxx"));
  EXPECT_FALSE(suppression_matches("a*b*c", "xxaxxcxxbxx"));
  EXPECT_TRUE(suppression_matches("^std::*allocator", "std::__new_allocator<int>::allocate"));
}

TEST(SuppressionFile, Parses) {
  auto s = parse_suppressions("# comment\n\nleak:foo\n  leak:^bar$  \r\nleak:baz*qux\n");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].pattern, "foo");
  EXPECT_EQ(s[1].pattern, "^bar$");
  EXPECT_EQ(s[2].pattern, "baz*qux");
  EXPECT_EQ(s[0].source, SuppressionSource::kFile);
  EXPECT_THROW(parse_suppressions("race:foo\n"), Error);
  EXPECT_THROW(parse_suppressions("leak:\n"), Error);
  try {
    parse_suppressions("leak:a\nbogus\n");
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "line 2: expected `leak:PATTERN`, got `bogus`");
  }
}

TEST(JsonString, Escapes) {
  EXPECT_EQ(json_string("plain"), "\"plain\"");
  EXPECT_EQ(json_string("a\"b\\c"), "\"a\\\"b\\\\c\"");
  EXPECT_EQ(json_string("\n\r\t\b\f"), "\"\\n\\r\\t\\b\\f\"");
  EXPECT_EQ(json_string(std::string_view("\x01\x1f\0", 3)), "\"\\u0001\\u001f\\u0000\"");
  EXPECT_EQ(json_string("\x7f"), "\"\x7f\"");
  EXPECT_EQ(json_optional(std::optional<std::string>{}), "null");
}

TEST(JsonString, Utf8) {
  EXPECT_EQ(json_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\"");
  EXPECT_EQ(json_string("\xff"), "\"\\ufffd\"");
  EXPECT_EQ(json_string("\xc3"), "\"\\ufffd\"");                  // truncated sequence
  EXPECT_EQ(json_string("\xc0\xaf"), "\"\\ufffd\\ufffd\"");        // overlong '/'
  EXPECT_EQ(json_string("\xed\xa0\x80"), "\"\\ufffd\\ufffd\\ufffd\"");  // surrogate
  EXPECT_EQ(json_string("\xf4\x90\x80\x80"), "\"\\ufffd\\ufffd\\ufffd\\ufffd\"");  // > U+10FFFF
  EXPECT_EQ(json_string("a\x80z"), "\"a\\ufffdz\"");
}

TEST(XmlEscape, MarkupAndControlCharacters) {
  EXPECT_EQ(xml_escape("a<b>&\"c\"\x01"), "a&lt;b&gt;&amp;&quot;c&quot; ");
}

}  // namespace
}  // namespace libleak
