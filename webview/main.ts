// Entry of the Pareto explorer webview (bundled to dist/webview.js): registers the toolkit
// components, restores the saved state (the panel is not retained while hidden), says `ready` to the
// host, and from then on applies the host's messages and the user's actions to one PanelState,
// saving it after each change. Keyboard: arrow keys / Home / End move the selection along the points
// in order, Enter compresses to the selected point after a confirmation.
import './pareto.css';
import { provideVSCodeDesignSystem, vsCodeButton, vsCodeDataGrid, vsCodeDataGridCell, vsCodeDataGridRow, vsCodeDropdown, vsCodeOption, vsCodeRadio, vsCodeRadioGroup } from '@vscode/webview-ui-toolkit';
import { announcement } from './figures';
import { chooseAxis, reduce, restoreState, selectPoint, type PanelState } from './panelState';
import { PanelView } from './panelView';
import { dispatch, isHostMessage, type HostMessage, type MessageHandlers } from './protocol';
import { keyboardOrder, navigationKeys, nextSelection } from './selectionOrder';
import { readTheme, watchTheme } from './themeColours';
import { connectToHost } from './vscodeApi';

provideVSCodeDesignSystem().register(vsCodeButton(), vsCodeDropdown(), vsCodeOption(), vsCodeRadioGroup(), vsCodeRadio(), vsCodeDataGrid(), vsCodeDataGridRow(), vsCodeDataGridCell());

const host = connectToHost();
let state: PanelState = restoreState(host.saved());
let theme = readTheme();

const view = new PanelView(document.getElementById('app') ?? document.body, {
  select: (pointId) => userSelects(pointId),
  compress: (confirm) => {
    if (state.show && state.selectedId) host.post({ type: 'compress', model: state.show.model.uri, pointId: state.selectedId, confirm });
  },
  axis: (axis) => {
    if (axis === state.axis) return;
    update(chooseAxis(state, axis));
    host.post({ type: 'axis', axis });
  },
  model: (uri) => {
    if (uri !== state.show?.model.uri) host.post({ type: 'model', model: uri });
  },
  runSearch: () => host.post({ type: 'runSearch' }),
  key: (event) => onKey(event),
});

/** Applies a new state: screen, saved state, and the render report to the host. */
function update(next: PanelState): void {
  state = next;
  view.render(state, theme);
  host.save(state);
  host.post({ type: 'rendered', model: state.show?.model.uri ?? null, points: state.show?.points.length ?? 0, selectedId: state.selectedId, axis: state.axis });
}

function userSelects(pointId: string): void {
  const next = selectPoint(state, pointId);
  if (next === state || !state.show || next.selectedId === state.selectedId) return;
  update(next);
  const order = keyboardOrder(state.show.points, state.axis);
  const point = state.show.points.find((p) => p.id === pointId);
  if (point) view.announce(announcement(point, order.indexOf(pointId) + 1, order.length, state.show.labels));
  host.post({ type: 'select', model: state.show.model.uri, pointId });
}

function onKey(event: KeyboardEvent): void {
  if (!state.show) return;
  if (event.key === 'Enter') {
    event.preventDefault();
    if (state.selectedId) host.post({ type: 'compress', model: state.show.model.uri, pointId: state.selectedId, confirm: true });
    return;
  }
  if (!navigationKeys.includes(event.key)) return;
  event.preventDefault();
  const next = nextSelection(keyboardOrder(state.show.points, state.axis), state.selectedId, event.key);
  if (next === undefined) return;
  userSelects(next);
}

const handlers: MessageHandlers<HostMessage> = {
  show: (message) => update(reduce(state, message)),
  empty: (message) => update(reduce(state, message)),
  select: (message) => update(reduce(state, message)),
  busy: (message) => update(reduce(state, message)),
};

window.addEventListener('message', (event: MessageEvent<unknown>) => {
  if (isHostMessage(event.data)) dispatch(handlers, event.data);
});
watchTheme((next) => {
  theme = next;
  view.render(state, theme);
});

// Draw the saved state at once (no flicker while the host answers), then ask for the current one.
view.render(state, theme);
host.post({ type: 'ready' });
