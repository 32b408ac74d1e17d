// The pprof heap profile (--format pprof -o FILE.pb.gz): a gzipped perftools.profiles.Profile
// (profile.proto) that pprof, speedscope, Pyroscope and Parca read. Encoding by libprotobuf from
// the checked-in profile.proto, gzip by zlib.
//
// Sample types, as in Go heap profiles: alloc_objects/count, alloc_space/bytes,
// inuse_objects/count, inuse_space/bytes (in use = still live when the trace was written).
// Each callsite gives one sample per report entry (label verdict = unreachable, growing,
// reachable, unfreed; indirect = "true" on indirect leaks) and one for what it allocated and
// freed (verdict = freed, in-use zero), so alloc_* over a callsite's samples sums to everything
// it allocated. Callsites hidden by suppressions are left out, as from the report.
#pragma once

#include <string>
#include <vector>

#include "report/format.h"

namespace libleak {

extern const Format kPprofFormat;  // --format pprof -o FILE.pb.gz

// The serialized, uncompressed Profile message. Several processes share one profile, each with
// its own mappings, their samples told apart by a numeric "pid" label.
std::string build_pprof(const std::vector<ProcessReport>& processes);

// gzip (RFC 1952) of `bytes`, with a zero timestamp so equal input gives equal output.
std::string gzip_bytes(const std::string& bytes);

// build_pprof, gzipped.
void write_pprof(Output& out, const std::vector<ProcessReport>& processes);

}  // namespace libleak
