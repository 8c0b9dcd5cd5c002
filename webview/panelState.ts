// What the Pareto panel shows, as one value: the last result the host sent, the x axis, the selected
// point and whether a compression runs. Kept with acquireVsCodeApi().setState so that the panel comes
// back as it was after being hidden (its webview is not retained), and changed only by `reduce`.
// Pure: no DOM.
import { isHostMessage, isXAxis, type HostMessage, type ShowMessage, type XAxis } from './protocol';

/** The panel's whole state. */
export interface PanelState {
  /** The shown result; null before the host spoke or when no model has one. */
  readonly show: ShowMessage | null;
  /** True once the host said no model has a result. */
  readonly empty: boolean;
  readonly axis: XAxis;
  readonly selectedId: string | null;
  readonly busy: boolean;
}

/** The state of a fresh panel. */
export const initialState: PanelState = { show: null, empty: false, axis: 'latency', selectedId: null, busy: false };

/** The state after a host message. */
export function reduce(state: PanelState, message: HostMessage): PanelState {
  switch (message.type) {
    case 'show':
      return { ...state, show: message, empty: false, axis: message.axis, selectedId: message.selectedId || null };
    case 'empty':
      return { ...state, show: null, empty: true, selectedId: null };
    case 'select':
      return state.show?.model.uri === message.model && state.show.points.some((p) => p.id === message.pointId) ? { ...state, selectedId: message.pointId } : state;
    case 'busy':
      return { ...state, busy: message.busy };
  }
}

/** The state after the user selected a point (ignored when the id is not a point of the result). */
export function selectPoint(state: PanelState, pointId: string): PanelState {
  return state.show?.points.some((p) => p.id === pointId) ? { ...state, selectedId: pointId } : state;
}

/** The state after the user chose an x axis. */
export function chooseAxis(state: PanelState, axis: XAxis): PanelState {
  return { ...state, axis };
}

/** A state saved by setState, checked (a saved value from an older version of the panel is dropped). */
export function restoreState(saved: unknown): PanelState {
  if (typeof saved !== 'object' || saved === null) return initialState;
  const s = saved as Record<string, unknown>;
  const show = s.show === null || s.show === undefined ? null : isHostMessage(s.show) && s.show.type === 'show' ? s.show : undefined;
  if (show === undefined || !isXAxis(s.axis)) return initialState;
  const selectedId = typeof s.selectedId === 'string' ? s.selectedId : null;
  return { show, empty: s.empty === true, axis: s.axis, selectedId, busy: false };
}

/** The selected point of a state. */
export function selectedPoint(state: PanelState): ShowMessage['points'][number] | undefined {
  return state.show?.points.find((p) => p.id === state.selectedId);
}
