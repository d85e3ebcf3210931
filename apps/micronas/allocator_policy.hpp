// A search builds a fresh network for every candidate, ~120 MB of tensors at B = 72. glibc
// returns large freed blocks to the kernel (blocks above its mmap threshold are unmapped, and the
// heap top is trimmed), so every candidate faulted its tensors in again and the kernel zeroed
// them: 1.6 M page faults and 4.3 s of system time in a one-repeat default search
// (bench/README.md, "Freed memory kept for the next candidate").
#pragma once

namespace micronas::cli {

// Keeps freed memory in the process for the next allocation (glibc: blocks up to 32 MiB come from
// the heap, and up to 1 GiB of free heap top is kept); a no-op with other C libraries. The
// resident size stays at its peak instead of shrinking between candidates.
void keep_freed_memory();

}  // namespace micronas::cli
