// The steps a worker's cells (transition.ts) are made of: stop or kill a generation, a child's exit
// (onExit: its group SIGKILLed, then the case for its status; a generation told to stop is simply gone),
// drain, end; and the one cell every phase shares for a generation already given up on (forgetAbandoned).
// Each takes the model and returns the next one with the effects that go with it. They decide nothing
// about phases: the cell that calls a step has decided already, and says so in its name.
import { EXIT_DRAIN_TIMEOUT, EXIT_SIGNAL_BASE } from '../exit-codes.js';
import type {
  EventOf as E,
  Effect,
  Generation,
  Level,
  Model,
  Phase,
  Settings,
  Step,
  StopReason,
} from './types.js';

const SIGNAL_NUMBERS: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGQUIT: 3, SIGTERM: 15 };

type Fields = Record<string, string | number | boolean>;

export const ignore = (model: Model): Step => ({ model, effects: [] });

export function log(level: Level, message: string, fields?: Fields): Effect {
  return fields ? { type: 'log', level, message, fields } : { type: 'log', level, message };
}

/** The one line of a transition: "running -> draining (SIGTERM)". */
export function transitionLine(
  level: Level,
  from: Phase,
  to: Phase,
  why: string | undefined,
  fields?: Fields,
): Effect {
  const message = why === undefined ? `${from} -> ${to}` : `${from} -> ${to} (${why})`;
  return fields ? { type: 'log', level, message, fields, to } : { type: 'log', level, message, to };
}

/** Run next on the model of step, with the effects of both in order. */
export function then(step: Step, next: (model: Model) => Step): Step {
  const more = next(step.model);
  return { model: more.model, effects: [...step.effects, ...more.effects] };
}

export function find(model: Model, id: number): Generation | undefined {
  return model.generations.find((g) => g.id === id);
}

export function withGeneration(model: Model, id: number, patch: Partial<Generation>): Model {
  return { ...model, generations: model.generations.map((g) => (g.id === id ? { ...g, ...patch } : g)) };
}

export function without(model: Model, id: number): Model {
  return { ...model, generations: model.generations.filter((g) => g.id !== id) };
}

export function serving(model: Model): Generation | undefined {
  return model.generations.find((g) => g.status === 'serving');
}

export function pending(model: Model): Generation | undefined {
  return model.generations.find((g) => g.status === 'starting');
}

export function pidField(g: Generation | undefined): Record<string, number> {
  return g?.pid === undefined ? {} : { pid: g.pid };
}

/** "code 3" or "signal SIGKILL". */
export function describeExit(event: { code: number | null; signal: string | null }): string {
  return event.signal ? `signal ${event.signal}` : `code ${event.code}`;
}

export type ExitCase = (rest: Model, g: Generation, event: E<'exited'>, effects: Effect[]) => Step;

/**
 * A child's main process exited. Whatever it left in its process group (grandchildren) goes with it:
 * the group is SIGKILLed first. Then the case for the generation's status decides.
 */
export function onExit(
  model: Model,
  event: E<'exited'>,
  cases: Partial<Record<Generation['status'], ExitCase>>,
): Step {
  const g = find(model, event.gen);
  if (!g) return ignore(model);
  const effects: Effect[] = [
    { type: 'kill', gen: g.id, signal: 'SIGKILL', group: true },
    ...cancelReadyTimers(g.id),
    { type: 'cancel-timer', timer: 'deadline', gen: g.id },
  ];
  const handle = cases[g.status] ?? stoppedGone;
  return handle(without(model, g.id), g, event, effects);
}

export function exitFields(g: Generation, event: E<'exited'>): Record<string, number> {
  return { generation: g.id, ...pidField(g), status: event.status };
}

/** A generation that was told to stop is gone; in a drain, its status says whether the drain was clean. */
const stoppedGone: ExitCase = (rest, g, event, effects) => {
  let stop = rest.stop;
  if (stop?.kind === 'drain') {
    if (g.killed) stop = { kind: 'drain', dirtyStatus: EXIT_DRAIN_TIMEOUT };
    else if (!isCleanStop(rest.settings, event.status) && stop.dirtyStatus === undefined) {
      stop = { kind: 'drain', dirtyStatus: event.status };
    }
  }
  const line = log('info', `generation ${g.id} exited (${describeExit(event)})`, exitFields(g, event));
  return finish({ model: stop ? { ...rest, stop } : rest, effects: [...effects, line] });
};

/** A generation stops waiting to be ready (it is ready, stopped, killed or gone): no more ready timers. */
export function cancelReadyTimers(gen: number): Effect[] {
  return [
    { type: 'cancel-timer', timer: 'ready', gen },
    { type: 'cancel-timer', timer: 'ready-warn', gen },
  ];
}

export function answerReloadFailed(model: Model, reason: string): Step {
  if (!model.reload) return { model, effects: [] };
  return { model: { ...model, reload: undefined }, effects: [{ type: 'reload-failed', reason }] };
}

/** The final stop begins (once): the worker needs the listening sockets no more. */
export function finalStop(model: Model): Step {
  if (model.finalStop) return { model, effects: [] };
  return { model: { ...model, finalStop: true }, effects: [{ type: 'final-stop' }] };
}

/** Tell a generation to stop: the stop signal to its main process, and a deadline for SIGKILL. */
export function stopGeneration(model: Model, g: Generation): Step {
  const effects: Effect[] = [];
  if (g.status === 'starting') effects.push(...cancelReadyTimers(g.id));
  effects.push(
    { type: 'kill', gen: g.id, signal: model.settings.stopSignal, group: false },
    { type: 'start-timer', timer: 'deadline', gen: g.id, ms: model.settings.lameDuckMs },
  );
  return { model: withGeneration(model, g.id, { status: 'stopping' }), effects };
}

/** SIGKILL a generation's whole process group now. */
export function killGeneration(model: Model, g: Generation): Step {
  return {
    model: withGeneration(model, g.id, { status: 'stopping', killed: true }),
    effects: [...cancelReadyTimers(g.id), { type: 'kill', gen: g.id, signal: 'SIGKILL', group: true }],
  };
}

/** The final stop: the sockets go first, then every generation not yet stopping is told to stop. */
export function stopAll(model: Model): Step {
  let step = finalStop(model);
  for (const g of model.generations) {
    if (g.status !== 'stopping') step = then(step, (m) => stopGeneration(m, g));
  }
  return step;
}

function exitCodeFor(stop: StopReason): number {
  switch (stop.kind) {
    case 'child-exit':
    case 'fast':
    case 'failed-start':
      return stop.status;
    case 'drain':
      return stop.dirtyStatus ?? 0;
  }
}

/** Once a stop is decided and the last child is gone, exit. A worker never exits while a child lives. */
export function finish(step: Step): Step {
  const { model } = step;
  if (!model.stop || model.generations.length > 0) return step;
  const code = exitCodeFor(model.stop);
  return {
    model: { ...model, phase: 'stopped' },
    effects: [
      ...step.effects,
      transitionLine('info', model.phase, 'stopped', undefined, { exitCode: code }),
      { type: 'exit', code },
    ],
  };
}

/** A late spawn failure of a generation already given up on: it is simply gone. */
export function forgetAbandoned(model: Model, event: E<'spawn-failed'>): Step {
  const g = find(model, event.gen);
  if (!g) return ignore(model);
  return finish({ model: without(model, g.id), effects: cancelReadyTimers(g.id) });
}

/**
 * The worker ends with stop: the line says why, whatever still runs is told to stop, and the worker exits
 * once every child is gone.
 */
export function endWorker(model: Model, why: string, stop: StopReason, level: Level): Step {
  const line = transitionLine(level, model.phase, 'draining', why);
  const next: Model = { ...model, phase: 'draining', stop, queuedRestart: undefined };
  const step = then(answerReloadFailed(next, 'tsdaemon is stopping'), stopAll);
  return finish({ model: step.model, effects: [line, ...step.effects] });
}

/** SIGTERM, SIGINT: the lame-duck drain, after the lame-duck delay when something serves. */
export function drain(model: Model, why: string): Step {
  // A child that already crashed keeps deciding the exit code; a drain does not turn it into 0.
  const stop: StopReason = model.stop?.kind === 'child-exit' ? model.stop : { kind: 'drain' };
  const line = transitionLine('info', model.phase, 'draining', why, {
    lameDuckMs: model.settings.lameDuckMs,
  });
  const next: Model = { ...model, phase: 'draining', stop, queuedRestart: undefined };
  let step: Step = { model: next, effects: [line] };
  step = then(step, (m) => answerReloadFailed(m, 'tsdaemon is stopping'));
  if (model.settings.lameDuckDelayMs > 0 && serving(next)) {
    // Keep serving while load balancers notice; children that were still starting are stopped now.
    for (const g of next.generations.filter((g) => g.status === 'starting')) {
      step = then(step, (m) => stopGeneration(m, g));
    }
    step.effects.push({
      type: 'start-timer',
      timer: 'lame-duck-delay',
      gen: 0,
      ms: model.settings.lameDuckDelayMs,
    });
    return step;
  }
  return finish(then(step, stopAll));
}

/** A second SIGTERM/SIGINT, or SIGQUIT: SIGKILL every child now; exit 128+N of that signal. */
export function killAll(model: Model, signal: string): Step {
  const status = EXIT_SIGNAL_BASE + (SIGNAL_NUMBERS[signal] ?? 0);
  const line = transitionLine('warn', model.phase, 'draining', `${signal}: killing every child now`);
  const next: Model = {
    ...model,
    phase: 'draining',
    stop: { kind: 'fast', status },
    queuedRestart: undefined,
  };
  let step = then(answerReloadFailed(next, 'tsdaemon is stopping'), finalStop);
  for (const g of model.generations) step = then(step, (m) => killGeneration(m, g));
  return finish({ model: step.model, effects: [line, ...step.effects] });
}

export function isCleanStop(settings: Settings, status: number): boolean {
  return status === 0 || status === EXIT_SIGNAL_BASE + settings.stopSignalNumber;
}
