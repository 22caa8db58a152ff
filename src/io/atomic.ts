/**
 * Crash-safe file writes. A checkpoint or report that is half-written when the process dies is worse than
 * none, so every file the project writes goes through here: the bytes land in a temp file in the same folder
 * (same file system, so rename is atomic), are fsynced, and only then renamed over the target.
 */
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, unlinkSync, writeFileSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { OptionError } from '../errors.js';

/**
 * Write `data` to `path` atomically: readers see either the old file or the complete new one, never a mix.
 * On any error the temp file is removed and an existing file at `path` is left untouched; the error is rethrown.
 */
export function writeFileAtomic(path: string, data: Uint8Array | string): void {
  const dir = dirname(path);
  // Random suffix so two writers of the same target never share a temp file.
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  // Checked up front: a wrong type must fail loudly, not write an empty file.
  if (typeof data !== 'string' && !(data instanceof Uint8Array)) throw new TypeError(`writeFileAtomic(${path}): data must be a string or Uint8Array`);
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o644);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd); // the data must be on disk before the rename makes it visible
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) try { closeSync(fd); } catch { /* already failing; keep the first error */ }
    try { unlinkSync(tmp); } catch { /* temp may never have been created */ }
    throw err;
  }
  syncDir(dir);
}

/** fsync the folder so the rename itself survives a crash; some platforms refuse, which is harmless. */
function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r');
    try { fsyncSync(fd); } finally { closeSync(fd); }
  } catch { /* e.g. Windows cannot open folders */ }
}

/**
 * Create `dir` (with parents) and check a file can be written in it, by writing and removing a probe file
 * (permission bits alone lie for root and for read-only mounts). Throws OptionError('--out') naming the folder.
 */
export function ensureWritableDir(dir: string): void {
  const probe = join(dir, `.relml-probe-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    mkdirSync(dir, { recursive: true });
    writeFileSync(probe, '');
    rmSync(probe, { force: true });
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? String(err);
    throw new OptionError('--out', `folder ${JSON.stringify(dir)} is not writable (${reason})`);
  }
}
