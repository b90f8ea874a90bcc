// on-exit-leak-free 2.1.2 ships no types; its API (README): register(obj, fn) calls fn(obj, "exit")
// on process exit unless obj was garbage-collected first (held by a WeakRef), unregister(obj).
declare module "on-exit-leak-free" {
  export function register<T extends object>(obj: T, fn: (obj: T, event: "exit") => void): void;
  export function unregister(obj: object): void;
}
