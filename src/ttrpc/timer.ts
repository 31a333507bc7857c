/**
 * The longest delay setTimeout takes: a larger one (about 24.8 days and up) overflows and fires
 * after 1 ms (Node's TimeoutOverflowWarning).
 */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1;

/**
 * Call `fire` after `ms`, however long: a delay past setTimeout's limit is a chain of timers
 * of at most MAX_TIMEOUT_MS each. Returns the cancel function.
 */
export function setLongTimeout(fire: () => void, ms: number): () => void {
  let timer: NodeJS.Timeout;
  const arm = (left: number) => {
    timer = setTimeout(() => (left > MAX_TIMEOUT_MS ? arm(left - MAX_TIMEOUT_MS) : fire()), Math.min(left, MAX_TIMEOUT_MS));
  };
  arm(ms);
  return () => clearTimeout(timer);
}
