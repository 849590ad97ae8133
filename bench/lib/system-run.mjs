// The frame of one measured run of a system (bench/lib/*-system.mjs): whatever the measurement does, an
// error ends up in the result instead of the whole bench, and the system is stopped, with whatever it
// left running named in the result.

/**
 * Runs measure() and resolves with result: an error becomes result.error (with withLog, also the
 * system's last 10 log lines in result.log); then the system is stopped, and the pids it left running go
 * in result.left.
 */
export async function runThenStop(system, result, measure, { withLog = false } = {}) {
  try {
    await measure();
  } catch (error) {
    result.error = error.message;
    if (withLog && system.log) result.log = system.log().slice(-10);
  } finally {
    const stop = await system.stop();
    if (stop.left.length) result.left = stop.left;
  }
  return result;
}
