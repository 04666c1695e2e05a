// Types for the part of fs-native-extensions the data-directory lock uses (the package ships none).
declare module 'fs-native-extensions' {
  /** An open-file-description lock (fcntl F_OFD_SETLK on Linux): true when taken, false when another holds it. */
  export function tryLock(fd: number, offset?: number, length?: number, options?: { shared?: boolean }): boolean;
  export function unlock(fd: number, offset?: number, length?: number): void;
}
