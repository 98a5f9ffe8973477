/**
 * Plots layer: Plotly figure specs, notebook display and static export.
 *
 * @example
 * import { plotConfusion, saveFigure, show } from "./lib/plots/mod.ts";
 * const fig = plotConfusion(cm, classes, { normalize: true });
 * await show(fig, { name: "confusion" }); // in a notebook
 * await saveFigure(fig, "results/demo/confusion"); // anywhere
 */
export * from "./plotly.ts";
export * from "./palette.ts";
export * from "./figures.ts";
export * from "./html.ts";
export * from "./display.ts";
export * from "./export.ts";
export * from "./history.ts";
export * from "./spectrogram.ts";
