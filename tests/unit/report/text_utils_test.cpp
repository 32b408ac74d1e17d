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
  EXPECT_EQ(parse_size("3T"), 3298534883328u);
  EXPECT_EQ(parse_size("3TB"), 3000000000000u);
}

// Issue 16: `10k`, `1.5MiB`, `1MB` were rejected. The prefix letter may be lower case (as du and
// dd accept `10k`); what follows it is exact, so `kb` (kilobits?) stays an error.
TEST(SizeParse, LowerCasePrefixes) {
  EXPECT_EQ(parse_size("10k"), 10240u);
  EXPECT_EQ(parse_size("10kB"), 10000u);
  EXPECT_EQ(parse_size("10kiB"), 10240u);
  EXPECT_EQ(parse_size("3m"), 3145728u);
  EXPECT_EQ(parse_size("2g"), 2147483648u);
  EXPECT_EQ(parse_size("1t"), 1099511627776u);
}

TEST(SizeParse, FractionsAreExact) {
  EXPECT_EQ(parse_size("1.5MiB"), 1572864u);
  EXPECT_EQ(parse_size("1.5M"), 1572864u);
  EXPECT_EQ(parse_size("1.5K"), 1536u);
  EXPECT_EQ(parse_size("1.5MB"), 1500000u);
  EXPECT_EQ(parse_size("0.001GB"), 1000000u);
  EXPECT_EQ(parse_size("2.25GiB"), 2415919104u);
  EXPECT_EQ(parse_size("0.000000000000000001TB"), 0u);  // 18 digits: 10^-6 bytes, rounded down
  EXPECT_EQ(parse_size("15999999.999999999999999999TiB"), 17592186044415999999u);  // 128-bit exact
  // A fraction of a byte is dropped: "0.1KiB" is 102.4 bytes, and a gate fails above 102 exactly
  // as it would above 102.4.
  EXPECT_EQ(parse_size("0.1KiB"), 102u);
  EXPECT_EQ(parse_size("1.9"), 1u);
  EXPECT_EQ(parse_size("1.9B"), 1u);
}

TEST(SizeParse, OneSpaceBeforeTheUnit) {  // as the report prints sizes ("156.2 KiB")
  EXPECT_EQ(parse_size("156.2 KiB"), 159948u);
  EXPECT_EQ(parse_size("1 MB"), 1000000u);
  EXPECT_EQ(parse_size("4096 B"), 4096u);
}

TEST(SizeParse, RejectsEverythingElse) {
  for (const char* bad : {"", "-1", "+1", " 1", "1 ", "1  K", "1kib", "1KIB", "1kb", "1b", "1X", "K",
                          "0x10", "1e6", "1,5M", ".5M", "1.M", "1.5.5M", "1P", "1KiBB", "1 .5K",
                          "18446744073709551616", "17179869184GiB", "16777216TiB",
                          "0.0000000000000000001TB"}) {
    EXPECT_THROW(parse_size(bad), Error) << bad;
  }
}

std::string size_error(std::string_view text) {
  try {
    parse_size(text);
  } catch (const Error& e) {
    return e.what();
  }
  return "(no error)";
}

TEST(SizeParse, ErrorMessages) {
  EXPECT_EQ(size_error("MiB"), "invalid size `MiB`: expected a number like 4096, 64KiB or 1.5MB");
  EXPECT_EQ(size_error("10kb"), "invalid size `10kb`: unknown unit `kb` (K/KiB, M/MiB, G/GiB, T/TiB "
                                "are powers of 1024, KB/MB/GB/TB powers of 1000, B bytes)");
  EXPECT_EQ(size_error("1."), "invalid size `1.`: expected digits after the point");
  EXPECT_EQ(size_error("0.1234567890123456789K"),
            "invalid size `0.1234567890123456789K`: more than 18 digits after the point");
  EXPECT_EQ(size_error("16777216TiB"), "size `16777216TiB` is too large");
  EXPECT_EQ(size_error("99999999999999999999999"), "size `99999999999999999999999` is too large");
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
