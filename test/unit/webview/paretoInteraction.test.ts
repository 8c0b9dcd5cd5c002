// The Pareto explorer's interaction logic on a real fast search result: the keyboard order and moves,
// the panel state (host messages, user selection, the state saved while the panel is hidden), the
// protocol's guards and handler dispatch, and the webview's content security policy.
import * as assert from 'node:assert/strict';
import { contentSecurityPolicy, makeNonce } from '../../../extension/paretoHtml';
import { xValue } from '../../../webview/chartOptions';
import { chooseAxis, initialState, reduce, restoreState, selectedPoint, selectPoint, type PanelState } from '../../../webview/panelState';
import { dispatch, isHostMessage, isWebviewMessage, type MessageHandlers, type ShowMessage, type WebviewMessage } from '../../../webview/protocol';
import { keyboardOrder, nextSelection } from '../../../webview/selectionOrder';
import { searchedCase } from './paretoSupport';

describe('webview: Pareto explorer interaction', function () {
  this.timeout(120000);
  let show: ShowMessage;

  before(async () => {
    show = (await searchedCase()).show;
  });

  it('orders the points by x on the current axis for the arrow keys', () => {
    for (const axis of ['latency', 'macs'] as const) {
      const order = keyboardOrder(show.points, axis);
      assert.equal(order.length, show.points.length);
      assert.equal(new Set(order).size, order.length);
      const xs = order.map((id) => xValue(show.points.find((p) => p.id === id)!, axis));
      for (let i = 1; i < xs.length; i++) assert.ok(xs[i]! >= xs[i - 1]!, `${axis}: ${xs.join(', ')}`);
    }
  });

  it('moves the selection with arrows, Home and End, stopping at the ends', () => {
    const order = ['a', 'b', 'c'];
    assert.equal(nextSelection(order, 'a', 'ArrowRight'), 'b');
    assert.equal(nextSelection(order, 'b', 'ArrowDown'), 'c');
    assert.equal(nextSelection(order, 'c', 'ArrowRight'), 'c');
    assert.equal(nextSelection(order, 'b', 'ArrowLeft'), 'a');
    assert.equal(nextSelection(order, 'a', 'ArrowUp'), 'a');
    assert.equal(nextSelection(order, 'b', 'Home'), 'a');
    assert.equal(nextSelection(order, 'a', 'End'), 'c');
    assert.equal(nextSelection(order, null, 'ArrowRight'), 'a');
    assert.equal(nextSelection(order, 'gone', 'ArrowLeft'), 'c');
    assert.equal(nextSelection(order, 'a', 'Enter'), undefined);
    assert.equal(nextSelection([], null, 'ArrowRight'), undefined);
  });

  it('applies host messages and user actions to the panel state', () => {
    let state: PanelState = reduce(initialState, show);
    assert.equal(state.show, show);
    assert.equal(state.selectedId, show.selectedId);
    assert.equal(selectedPoint(state)?.id, show.selectedId);
    const other = show.points.find((p) => p.id !== show.selectedId)!.id;
    state = reduce(state, { type: 'select', model: show.model.uri, pointId: other });
    assert.equal(state.selectedId, other);
    assert.equal(reduce(state, { type: 'select', model: 'file:///other.onnx', pointId: show.selectedId }), state, 'a selection of another model is ignored');
    assert.equal(reduce(state, { type: 'select', model: show.model.uri, pointId: 'front:999' }), state, 'an unknown point is ignored');
    assert.equal(selectPoint(state, 'front:999'), state);
    assert.equal(selectPoint(state, show.selectedId).selectedId, show.selectedId);
    assert.equal(chooseAxis(state, 'macs').axis, 'macs');
    assert.equal(reduce(state, { type: 'busy', busy: true }).busy, true);
    const empty = reduce(state, { type: 'empty' });
    assert.equal(empty.show, null);
    assert.equal(empty.empty, true);
    assert.equal(reduce(empty, { ...show, axis: 'macs' }).axis, 'macs');
  });

  it('restores a saved state after a JSON round trip and drops anything else', () => {
    const state = chooseAxis(selectPoint(reduce(initialState, show), show.points[1]!.id), 'macs');
    const restored = restoreState(JSON.parse(JSON.stringify({ ...state, busy: true })));
    assert.deepEqual(restored, { ...state, busy: false });
    assert.deepEqual(restoreState(undefined), initialState);
    assert.deepEqual(restoreState({ show: { type: 'show' }, axis: 'latency' }), initialState);
    assert.deepEqual(restoreState({ show: null, axis: 'sideways' }), initialState);
    assert.deepEqual(restoreState({ show: null, axis: 'macs', empty: true, selectedId: null }), { ...initialState, axis: 'macs', empty: true });
  });

  it('checks the messages that cross the boundary', () => {
    const valid: WebviewMessage[] = [
      { type: 'ready' },
      { type: 'select', model: 'file:///m.onnx', pointId: 'front:1' },
      { type: 'compress', model: 'file:///m.onnx', pointId: 'front:1', confirm: true },
      { type: 'axis', axis: 'macs' },
      { type: 'model', model: 'file:///m.onnx' },
      { type: 'runSearch' },
      { type: 'rendered', model: null, points: 0, selectedId: null, axis: 'latency' },
    ];
    for (const m of valid) assert.ok(isWebviewMessage(m), JSON.stringify(m));
    for (const m of [null, 3, 'ready', {}, { type: 'select', model: 1, pointId: 'x' }, { type: 'compress', model: 'm', pointId: 'x' }, { type: 'axis', axis: 'flops' }, { type: 'delete' }]) {
      assert.ok(!isWebviewMessage(m), JSON.stringify(m));
    }
    assert.ok(isHostMessage(JSON.parse(JSON.stringify(show))));
    assert.ok(isHostMessage({ type: 'busy', busy: false }));
    assert.ok(!isHostMessage({ type: 'show', model: show.model }));
    assert.ok(!isHostMessage({ type: 'busy' }));
  });

  it('dispatches each message to the handler of its type', () => {
    const seen: string[] = [];
    const handlers: MessageHandlers<WebviewMessage> = {
      ready: () => seen.push('ready'),
      select: (m) => seen.push(`select ${m.pointId}`),
      compress: (m) => seen.push(`compress ${m.pointId} ${m.confirm}`),
      axis: (m) => seen.push(`axis ${m.axis}`),
      model: (m) => seen.push(`model ${m.model}`),
      runSearch: () => seen.push('runSearch'),
      rendered: (m) => seen.push(`rendered ${m.points}`),
    };
    dispatch(handlers, { type: 'select', model: 'm', pointId: 'front:2' });
    dispatch(handlers, { type: 'compress', model: 'm', pointId: 'front:2', confirm: false });
    dispatch(handlers, { type: 'ready' });
    assert.deepEqual(seen, ['select front:2', 'compress front:2 false', 'ready']);
  });

  it('allows only nonce-carrying scripts and the extension\'s own files', () => {
    const nonce = makeNonce();
    assert.match(nonce, /^[A-Za-z0-9]{16,}$/);
    assert.notEqual(makeNonce(), nonce);
    const csp = contentSecurityPolicy('https://file+.vscode-resource.vscode-cdn.net', nonce);
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, new RegExp(`script-src 'nonce-${nonce}'`));
    assert.match(csp, new RegExp(`style-src \\S+ 'nonce-${nonce}'`));
    assert.ok(!csp.includes('unsafe-inline') && !csp.includes('unsafe-eval'), csp);
  });
});
