// CPU time of a thread or a process, for the benchmark's per-login CPU figures (Linux only).
import { readFileSync } from 'node:fs';

/** User + system CPU time in ms from a /proc stat file: /proc/thread-self/stat, /proc/<pid>/stat. */
export function cpuMs(statFile: string): number {
  // The fields after the command name, which is in parentheses and may hold spaces.
  const fields = readFileSync(statFile, 'utf8').split(') ')[1]!.split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime and stime: fields 14 and 15 of proc(5)
  return ticks * 10; // USER_HZ is 100 on Linux
}
