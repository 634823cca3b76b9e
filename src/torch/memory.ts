/**
 * The caching CPU allocator for tensor storage (native/src/cpu_allocator.cc): its statistics, its
 * cache and its limit. Installed when the addon loads unless MMGAP_MALLOC=system, which leaves
 * libtorch's default allocator (glibc) in place; then the statistics stay at zero.
 */
import { totalmem } from 'node:os';
import { native } from './native.js';

/** Bytes and counts since the process started (peaks: since the last resetPeakStats). */
export interface MemoryStats {
  /** Bytes in live tensors (small ones as glibc sizes them). */
  allocated: number;
  /** Bytes held for tensors: allocated plus the cached free blocks. */
  reserved: number;
  peakAllocated: number;
  peakReserved: number;
  /** Storage allocations, of which large (carved from the allocator's arenas), of which served by a cached free block. */
  allocs: number;
  largeAllocs: number;
  cacheHits: number;
  /** Large allocations that took new memory (an arena grew), and the bytes handed back to the system (emptyCache, the limit). */
  grown: number;
  givenBack: number;
  /** What reserved may not pass: MMGAP_CPU_MEMORY_LIMIT, or 80 % of physical memory. */
  limit: number;
}

/** 'caching' (the default) or 'system' (MMGAP_MALLOC=system: libtorch's own allocator, glibc's settings). */
export const cpuAllocator: 'caching' | 'system' = native.cpuAllocator;

export function memoryStats(): MemoryStats { return native.memoryStats(); }
/** Hands the cached free blocks back to the system (their pages, madvise); returns the bytes. */
export function emptyCache(): number { return native.emptyCache(); }
/** Starts the peaks afresh from the current values. */
export function resetPeakStats(): void { native.resetPeakStats(); }
/** Sets the limit on reserved bytes; requests that would pass it throw an out-of-memory error. */
export function setMemoryLimit(bytes: number): void { native.setMemoryLimit(bytes); }

/** The environment variable of the limit, and the forms it takes. */
export const MEMORY_LIMIT_ENV = 'MMGAP_CPU_MEMORY_LIMIT';
const UNITS: Record<string, number> = { '': 1, K: 2 ** 10, M: 2 ** 20, G: 2 ** 30, T: 2 ** 40 };

/** Bytes from "12G", "800M", "3.5G", "1073741824" (binary units, B optional) or "60%" of physical memory. */
export function parseMemoryLimit(text: string, physical: number): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(%|[KMGT]?)(?:i?B)?\s*$/i.exec(text);
  const bytes = m ? Number(m[1]) * (m[2] === '%' ? physical / 100 : (UNITS[m[2]!.toUpperCase()] as number)) : NaN;
  if (!(bytes >= 2 ** 20)) {
    throw new Error(`${MEMORY_LIMIT_ENV}="${text}" is not a memory size of at least 1 MiB; use e.g. ${MEMORY_LIMIT_ENV}=12G, =800M or =60% (of physical memory)`);
  }
  return Math.floor(bytes);
}

/** Whether `e` is libtorch running out of memory: the CPU allocator's limit (or a device's memory). */
export function isOutOfMemoryError(e: unknown): e is Error & { code: 'ERR_MMGAP_OUT_OF_MEMORY' } {
  return e instanceof Error && (e as { code?: unknown }).code === 'ERR_MMGAP_OUT_OF_MEMORY';
}

const fromEnv = process.env[MEMORY_LIMIT_ENV];
if (fromEnv !== undefined && fromEnv.trim() !== '') setMemoryLimit(parseMemoryLimit(fromEnv, totalmem()));
