#!/usr/bin/env -S MALLOC_TRIM_THRESHOLD_=8388608 MALLOC_TOP_PAD_=4194304 node --max-semi-space-size=2 --expose-gc
// --max-semi-space-size=2 (MiB; V8's default is 16): V8's young generation. At 4 MiB it cut a
// relay's RSS at 1000 connections by about 50 MB against the default; 2 MiB takes 6 MB more off
// an idle server (the young generation is 2 x the semi-space, and startup fills it), with no CPU
// cost per MB relayed that a loaded 2-core machine could see (docs/BENCHMARKS.md, issue 12).
// --expose-gc: a quiet process that grew runs one full collection to give memory back
// (io/memory-reclaimer.ts): nothing else frees the 64 KiB socket-read Buffers of a finished
// burst while nothing allocates. Both flags only take effect on the command line, hence here.
// MALLOC_TRIM_THRESHOLD_/MALLOC_TOP_PAD_ (glibc): every socket read gets a fresh 64 KiB buffer, and
// glibc's defaults gave the heap back to the kernel and took it again in a loop (strace: brk and
// page faults made a 64 KiB read cost 265 us). Free memory at the heap's top is kept up to 8 MiB
// (it was 32 MiB, which every bulk transfer left behind as RSS; 8 MiB measured no different in
// system time per MB read), and grown 4 MiB at a time.
// The free holes glibc keeps below its heap's top are handed back by malloc_trim(0) once the process
// is quiet, or once a minute while busy (io/malloc-trim.ts's addon, driven by io/memory-reclaimer.ts).
// MALLOC_MMAP_THRESHOLD_=65536 would give a burst's memory back at once (the read buffers are
// then mmapped) but doubles the system time of every 64 KiB read, so it is not set here.
// The command runs from its bundle (build/bundle-cli.config.mjs): ~10 MB less RSS per process than ~600 modules from dist/.
import { main } from '../dist/bundle/burrow/main.js';

main(process.argv.slice(2)).then(
  (code) => {
    if (typeof code === 'number') process.exitCode = code;
  },
  (err) => {
    console.error(`burrow: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  },
);
