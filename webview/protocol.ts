// The host <-> Pareto explorer webview protocol: discriminated unions shared by extension/paretoView.ts
// and webview/main.ts, a `ready` handshake (the host posts nothing until the webview says it listens),
// runtime guards for what crosses the boundary, and handler tables that do not compile until every
// message type is handled. Every figure carries where it comes from (measured or estimated).
import type { LayerRank } from '../engine/factorize/rankPlan';
import type { ResultPoint } from '../engine/search/resultView';
import type { LatencyValue } from '../engine/search/searchResult';

/** What the chart puts on its x axis: predicted latency on the target, or MACs. */
export type XAxis = 'latency' | 'macs';

/** The x axes, in the order the panel offers them. */
export const xAxes: readonly XAxis[] = ['latency', 'macs'];

/** A model that has a search result (the dropdown's entries). */
export interface PanelModel {
  /** The model file's Uri as a string (the key in every message). */
  readonly uri: string;
  /** Its path relative to the workspace. */
  readonly label: string;
}

/** One layer of a point: its rank and what the target's latency table predicts for it. */
export interface LayerRow {
  readonly layer: string;
  readonly op: string;
  readonly rank: LayerRank;
  readonly maxRank: number;
  /** Layer latency original / at this rank on the target; null when the search has no table for it. */
  readonly speedup: number | null;
  readonly speedupKind: LatencyValue['kind'];
}

/** One point of the front or of a baseline (the figures of resultView's ResultPoint), with its layer table. */
export interface PanelPoint extends Omit<ResultPoint, 'ranks' | 'onnx'> {
  readonly layers: readonly LayerRow[];
}

/** The original model's figures (the reference point). */
export interface PanelOriginal {
  readonly macs: number;
  readonly params: number;
  readonly latencyMs: LatencyValue;
  readonly measuredLatencyMs: number | null;
  readonly top1: number | null;
}

/** Words shown with a result. */
export interface PanelLabels {
  /** 'fast' or 'haloc'. */
  readonly mode: string;
  /** The latency target, e.g. "this-machine" or "embedded-gpu". */
  readonly target: string;
  /** The job settings in words. */
  readonly settings: string;
  /** ISO time of the search. */
  readonly createdAt: string;
}

/** Host -> webview: show a model's result (the whole state; the webview keeps nothing else). */
export interface ShowMessage {
  readonly type: 'show';
  readonly model: PanelModel;
  readonly models: readonly PanelModel[];
  readonly points: readonly PanelPoint[];
  readonly original: PanelOriginal;
  readonly selectedId: string;
  /** The model file changed after the search. */
  readonly stale: boolean;
  readonly labels: PanelLabels;
  readonly axis: XAxis;
}

/** Host -> webview: no model has a result yet. */
export interface EmptyMessage {
  readonly type: 'empty';
}

/** Host -> webview: the selection changed elsewhere (same result otherwise). */
export interface SelectMessage {
  readonly type: 'select';
  readonly model: string;
  readonly pointId: string;
}

/** Host -> webview: a compression of a point started or ended. */
export interface BusyMessage {
  readonly type: 'busy';
  readonly busy: boolean;
}

/** Every message the host posts to the webview. */
export type HostMessage = ShowMessage | EmptyMessage | SelectMessage | BusyMessage;

/** Every message the webview posts to the host. */
export type WebviewMessage =
  | { readonly type: 'ready' }
  | { readonly type: 'select'; readonly model: string; readonly pointId: string }
  /** `confirm`: ask the user first (keyboard Enter); the button compresses at once. */
  | { readonly type: 'compress'; readonly model: string; readonly pointId: string; readonly confirm: boolean }
  | { readonly type: 'axis'; readonly axis: XAxis }
  | { readonly type: 'model'; readonly model: string }
  | { readonly type: 'runSearch' }
  /** Sent after each render: what the panel now shows (diagnostics and tests). */
  | { readonly type: 'rendered'; readonly model: string | null; readonly points: number; readonly selectedId: string | null; readonly axis: XAxis };

/** A handler for every message of a union, by type: adding a message type breaks the build until it is handled. */
export type MessageHandlers<M extends { readonly type: string }> = { readonly [K in M['type']]: (message: Extract<M, { readonly type: K }>) => void };

/** Calls the handler of a message's type. */
export function dispatch<M extends { readonly type: string }>(handlers: MessageHandlers<M>, message: M): void {
  (handlers[message.type as M['type']] as (m: M) => void)(message);
}

/** True for a message the webview may send (checked by the host before it acts on one). */
export function isWebviewMessage(value: unknown): value is WebviewMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'ready':
    case 'runSearch':
      return true;
    case 'select':
      return typeof m.model === 'string' && typeof m.pointId === 'string';
    case 'compress':
      return typeof m.model === 'string' && typeof m.pointId === 'string' && typeof m.confirm === 'boolean';
    case 'axis':
      return isXAxis(m.axis);
    case 'model':
      return typeof m.model === 'string';
    case 'rendered':
      return (m.model === null || typeof m.model === 'string') && typeof m.points === 'number' && (m.selectedId === null || typeof m.selectedId === 'string') && isXAxis(m.axis);
    default:
      return false;
  }
}

/** True for a message the host may send (checked by the webview). */
export function isHostMessage(value: unknown): value is HostMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  switch (m.type) {
    case 'show':
      return typeof m.model === 'object' && m.model !== null && Array.isArray(m.models) && Array.isArray(m.points) && typeof m.original === 'object' && m.original !== null && typeof m.selectedId === 'string' && typeof m.stale === 'boolean' && typeof m.labels === 'object' && isXAxis(m.axis);
    case 'empty':
      return true;
    case 'select':
      return typeof m.model === 'string' && typeof m.pointId === 'string';
    case 'busy':
      return typeof m.busy === 'boolean';
    default:
      return false;
  }
}

/** True for 'latency' or 'macs'. */
export function isXAxis(value: unknown): value is XAxis {
  return value === 'latency' || value === 'macs';
}
