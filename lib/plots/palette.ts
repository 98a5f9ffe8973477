/**
 * The one categorical palette of lib/plots: every figure that colours
 * classes (UMAP/embedding scatters, label shading, window tints) or series
 * takes its colours from {@link CLASS_PALETTE}, so class `c` has the same
 * colour in every panel that shares a class list.
 *
 * The first 10 colours are Plotly's/D3's category10 (the colours figures
 * always had for ≤ 10 classes); the 14 after them were chosen greedily
 * (Glasbey's method): each is the sRGB colour (grid step 17, CIE L* ≤ 80, so
 * no near-white) farthest in CIEDE2000 from every colour before it, from
 * white and from the unlabelled grey {@link UNLABELLED_COLOR}. Any prefix is
 * therefore as spread out as the greedy order allows: the 18 WISDM classes
 * are at least CIE76 ΔE 26 apart (CIEDE2000 ≥ 16), all 24 at least ΔE 22.
 *
 * Above 10 classes {@link classSymbol} also varies the marker symbol, a
 * second cue for readers who cannot tell two hues apart.
 *
 * @example
 * classColor(0); // "#1f77b4"
 * classColor(17); // the 18th WISDM class, distinct from the other 17
 * deltaE76(classColor(3), classColor(5)) > 15; // true
 */

/** 24 distinguishable colours on a white background (no near-white), class order. */
export const CLASS_PALETTE: readonly string[] = [
  // category10
  "#1f77b4",
  "#ff7f0e",
  "#2ca02c",
  "#d62728",
  "#9467bd",
  "#8c564b",
  "#e377c2",
  "#7f7f7f",
  "#bcbd22",
  "#17becf",
  // greedy CIEDE2000 extension
  "#334400",
  "#1100cc",
  "#005555",
  "#771155",
  "#886600",
  "#99aaff",
  "#00ddaa",
  "#444455",
  "#ffaaaa",
  "#448877",
  "#dd0077",
  "#bb9966",
  "#663300",
  "#66dd11",
];

/** Colour of points without a class (label -1). */
export const UNLABELLED_COLOR = "#bbbbbb";

/** Marker symbols cycled by {@link classSymbol} when there are more than 10 classes. */
export const CLASS_SYMBOLS: readonly string[] = ["circle", "square", "diamond", "triangle-up"];

/** Colour of class (or series) `i`: {@link CLASS_PALETTE}, cycled past 24. */
export function classColor(i: number): string {
  const n = CLASS_PALETTE.length;
  return CLASS_PALETTE[((i % n) + n) % n];
}

/**
 * Marker symbol of class `i` among `nClasses`: `"circle"` for up to 10
 * classes, else {@link CLASS_SYMBOLS} cycled (circle, square, diamond,
 * triangle), so classes of similar hue still differ in shape.
 */
export function classSymbol(i: number, nClasses: number): string {
  if (nClasses <= 10) return "circle";
  const n = CLASS_SYMBOLS.length;
  return CLASS_SYMBOLS[((i % n) + n) % n];
}

/** `"#rrggbb"` (or `"#rgb"`) to `[r, g, b]` in 0..255. */
export function hexToRgb(hex: string): [number, number, number] {
  let h = hex.trim().replace(/^#/, "");
  if (h.length === 3) h = [...h].map((c) => c + c).join("");
  if (!/^[0-9a-fA-F]{6}$/.test(h)) throw new Error(`hexToRgb: not a colour: "${hex}"`);
  return [0, 2, 4].map((k) => parseInt(h.slice(k, k + 2), 16)) as [number, number, number];
}

/** sRGB hex colour to CIE L*a*b* (D65). */
export function hexToLab(hex: string): [number, number, number] {
  const lin = hexToRgb(hex).map((v) => {
    const c = v / 255;
    return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  });
  const [r, g, b] = lin;
  const xyz = [
    (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047,
    0.2126729 * r + 0.7151522 * g + 0.072175 * b,
    (0.0193339 * r + 0.119192 * g + 0.9503041 * b) / 1.08883,
  ];
  const f = xyz.map((t) => (t > (6 / 29) ** 3 ? Math.cbrt(t) : t / (3 * (6 / 29) ** 2) + 4 / 29));
  return [116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])];
}

/** CIE76 colour difference ΔE*ab between two hex colours (≈ 2.3 is just noticeable). */
export function deltaE76(a: string, b: string): number {
  const p = hexToLab(a), q = hexToLab(b);
  return Math.hypot(p[0] - q[0], p[1] - q[1], p[2] - q[2]);
}
