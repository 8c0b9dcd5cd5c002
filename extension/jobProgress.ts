// Runs a long engine job the way the user sees it: a cancellable progress notification (Cancel stops
// the worker's job through its shared flag), a status bar item while it runs (click: the log), and
// each new phase as a line in the HALOC log.
import * as vscode from 'vscode';
import type { JobKind, JobRequestMap } from '../engine/worker/protocol';
import type { EngineClient } from './engineClient';

/** The command that shows the HALOC log (the status bar item's click). */
export const showLogCommand = 'haloc.showLog';

/** Runs `kind` in the engine worker with a progress notification titled `title` and a status bar item. */
export function runJobWithProgress<K extends JobKind>(engine: EngineClient, log: vscode.LogOutputChannel, kind: K, request: JobRequestMap[K]['request'], title: string): Promise<JobRequestMap[K]['result']> {
  const status = vscode.window.createStatusBarItem('haloc.job', vscode.StatusBarAlignment.Left, 10);
  status.name = 'HALOC job';
  status.text = `$(sync~spin) ${title}`;
  status.tooltip = `${title}: click to show the HALOC log`;
  status.command = showLogCommand;
  status.show();
  log.info(`${title}: started`);
  const started = Date.now();
  return Promise.resolve(
    vscode.window.withProgress({ location: vscode.ProgressLocation.Notification, title, cancellable: true }, async (progress, token) => {
      let done = 0;
      let phase = '';
      token.onCancellationRequested(() => log.info(`${title}: cancel requested`));
      const onProgress = (message: string, fraction?: number): void => {
        const increment = fraction === undefined ? undefined : Math.max(0, 100 * fraction - done);
        if (increment !== undefined) done += increment;
        progress.report({ message, ...(increment ? { increment } : {}) });
        status.text = `$(sync~spin) ${title}${fraction === undefined ? '' : ` ${Math.round(100 * fraction)}%`}`;
        const current = message.split(':')[0] ?? message;
        if (current !== phase) {
          phase = current;
          log.info(`${title}: ${message}`);
        } else log.trace(`${title}: ${message}`);
      };
      return engine.run(kind, request, { onProgress, token });
    }),
  ).finally(() => {
    status.dispose();
    log.info(`${title}: ended after ${((Date.now() - started) / 1000).toFixed(1)} s`);
  });
}
