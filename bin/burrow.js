#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=33554432 MALLOC_TOP_PAD_=4194304 node --max-semi-space-size=4
// --max-semi-space-size=4 (MiB; V8's default is 16): measured with `npm run bench:relay`, it cuts a
// relay's RSS at 1000 connections by about 50 MB (young-generation garbage the default lets pile
// up) at no measurable cost in throughput. It only takes effect on the command line, hence here.
// MALLOC_TRIM_THRESHOLD_/MALLOC_TOP_PAD_ (glibc): every socket read gets a fresh 64 KiB buffer, and
// glibc's defaults gave the heap back to the kernel and took it again in a loop (strace: brk and
// page faults made a 64 KiB read cost 265 us). Keeping 32 MiB: iperf3 through a plain tunnel
// 95-159 -> 163-261 MB/s in paired runs, for 0-25 MB more RSS.
// Re-measured for issue 12 (docs/BENCHMARKS.md): they are not what keeps memory after a burst
// (glibc's defaults keep as much); MALLOC_MMAP_THRESHOLD_=65536 gives the server's back but cost
// about a third of single-stream throughput, so it is not set here.
import { main } from '../dist/cli/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(`burrow: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
