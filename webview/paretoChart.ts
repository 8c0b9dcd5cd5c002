// The ECharts scatter of the panel: registers only the parts it uses (scatter, grid, legend,
// tooltip, canvas renderer), renders a state, reports clicks on points, follows the container's size,
// and shows the tooltip of a point selected from the keyboard.
import { ScatterChart } from 'echarts/charts';
import { GridComponent, LegendComponent, TooltipComponent } from 'echarts/components';
import * as echarts from 'echarts/core';
import { CanvasRenderer } from 'echarts/renderers';
import { chartOption, ORIGINAL_NAME, SELECTION_SERIES, type ChartTheme } from './chartOptions';
import type { ShowMessage, XAxis } from './protocol';

echarts.use([ScatterChart, GridComponent, LegendComponent, TooltipComponent, CanvasRenderer]);

/** The chart in a container element. */
export class ParetoChart {
  private readonly chart: echarts.ECharts;
  private readonly resize: ResizeObserver;

  constructor(container: HTMLElement, onSelect: (pointId: string) => void) {
    this.chart = echarts.init(container, null, { renderer: 'canvas' });
    this.chart.on('click', (params) => {
      if (params.componentType === 'series' && params.seriesId !== SELECTION_SERIES && params.name !== ORIGINAL_NAME && typeof params.name === 'string') onSelect(params.name);
    });
    this.resize = new ResizeObserver(() => this.chart.resize());
    this.resize.observe(container);
  }

  /** Draws a result with a selection in a theme (replacing what was drawn). */
  render(show: ShowMessage, axis: XAxis, selectedId: string | null, theme: ChartTheme): void {
    this.chart.setOption(chartOption(show, axis, selectedId, theme), { notMerge: true });
  }

  /** Shows the tooltip of a point (keyboard selection). */
  showTip(pointId: string): void {
    const option = this.chart.getOption() as { series?: { id?: string; data?: { name?: string }[] }[] };
    for (const [seriesIndex, series] of (option.series ?? []).entries()) {
      if (series.id === SELECTION_SERIES) continue;
      const dataIndex = (series.data ?? []).findIndex((d) => d.name === pointId);
      if (dataIndex >= 0) {
        this.chart.dispatchAction({ type: 'showTip', seriesIndex, dataIndex });
        return;
      }
    }
  }

  dispose(): void {
    this.resize.disconnect();
    this.chart.dispose();
  }
}
