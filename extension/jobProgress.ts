// Runs a long engine job the way the user sees it: a cancellable progress notification (Cancel stops
// the worker's job through its shared flag), a status bar item while it runs (click: the log), and
// each new phase as a line in the HALOC log. "HALOC: Cancel Running Jobs" cancels every job it runs.
import * as vscode from 'vscode';
import type { JobKind, JobRequestMap } from '../engine/worker/protocol';
import type { EngineClient } from './engineClient';

/** The command that shows the HALOC log (the status bar item's click). */
export const showLogCommand = 'haloc.showLog';

/** The command that cancels every running job (also the progress notifications' Cancel). */
export const cancelJobsCommand = 'haloc.cancelJobs';

/** The context key, true while a job runs (enables the cancel command). */
const jobRunningContext = 'haloc.jobRunning';

/** A job as the user sees it: its title and its latest progress message. */
export interface RunningJob {
  readonly title: string;
  readonly message: string;
}

/** Runs engine jobs with progress and keeps the running ones, for the cancel command. */
export class JobRunner implements vscode.Disposable {
  private readonly jobs = new Map<vscode.CancellationTokenSource, { title: string; message: string }>();

  constructor(
    private readonly engine: EngineClient,
    private readonly log: vscode.LogOutputChannel,
  ) {}

  /** The jobs running now. */
  get running(): readonly RunningJob[] {
    return [...this.jobs.values()].map((j) => ({ ...j }));
  }

  /** Cancels every running job; returns how many there were. */
  cancelAll(): number {
    const count = this.jobs.size;
    for (const source of this.jobs.keys()) source.cancel();
    return count;
  }

  /** Runs `kind` in the engine worker with a progress notification titled `title` and a status bar item. */
  run<K extends JobKind>(kind: K, request: JobRequestMap[K]['request'], title: string): Promise<JobRequestMap[K]['result']> {
    const { log } = this;
    const status = vscode.window.createStatusBarItem('haloc.job', vscode.StatusBarAlignment.Left, 10);
    status.name = 'HALOC job';
    status.text = `$(sync~spin) ${title}`;
    status.tooltip = `${title}: click to show the HALOC log ("HALOC: Cancel Running Jobs" stops it)`;
    status.command = showLogCommand;
    status.show();
    const source = new vscode.CancellationTokenSource();
    const job = { title, message: 'starting' };
    this.track(source, job);
    log.info(`${title}: started`);
    const started = Date.now();
    return Promise.resolve(
      vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
        let done = 0;
        let phase = '';
        token.onCancellationRequested(() => source.cancel());
        source.token.onCancellationRequested(() => log.info(`${title}: cancel requested`));
        const onProgress = (message: string, fraction?: number): void => {
          const increment = fraction === undefined ? undefined : Math.max(0, 100 * fraction - done);
          if (increment !== undefined) done += increment;
          progress.report({ message, ...(increment ? { increment } : {}) });
          status.text = `$(sync~spin) ${title}${fraction === undefined ? '' : ` ${Math.round(100 * fraction)}%`}`;
          job.message = message;
          const current = message.split(':')[0] ?? message;
          if (current !== phase) {
            phase = current;
            log.info(`${title}: ${message}`);
          } else log.trace(`${title}: ${message}`);
        };
        return this.engine.run(kind, request, { onProgress, token: source.token });
      }),
    ).finally(() => {
      status.dispose();
      this.track(source, undefined);
      source.dispose();
      log.info(`${title}: ended after ${((Date.now() - started) / 1000).toFixed(1)} s`);
    });
  }

  /** Cancels what still runs (the extension is deactivating). */
  dispose(): void {
    this.cancelAll();
  }

  private track(source: vscode.CancellationTokenSource, job: { title: string; message: string } | undefined): void {
    if (job) this.jobs.set(source, job);
    else this.jobs.delete(source);
    void vscode.commands.executeCommand('setContext', jobRunningContext, this.jobs.size > 0);
  }
}
