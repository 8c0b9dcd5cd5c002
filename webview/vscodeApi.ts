// The webview's handle on VS Code (acquireVsCodeApi may be called once per page), typed by the
// protocol: post only WebviewMessages, keep only PanelState.
import type { PanelState } from './panelState';
import type { WebviewMessage } from './protocol';

interface VsCodeWebviewApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare function acquireVsCodeApi(): VsCodeWebviewApi;

/** The typed VS Code API of the panel. */
export interface PanelHost {
  post(message: WebviewMessage): void;
  /** The saved state (unchecked: pass it to restoreState). */
  saved(): unknown;
  save(state: PanelState): void;
}

/** Acquires the VS Code API (call once). */
export function connectToHost(): PanelHost {
  const api = acquireVsCodeApi();
  return {
    post: (message) => api.postMessage(message),
    saved: () => api.getState(),
    save: (state) => api.setState({ ...state, busy: false }),
  };
}
