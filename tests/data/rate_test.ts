import { assertAlmostEquals, assertThrows } from "@std/assert";
import { DataFormatError } from "../../lib/errors.ts";
import { checkRate, medianRateHz } from "../../lib/data/rate.ts";

Deno.test("medianRateHz is robust to gaps and backward jumps", () => {
  const t = Float64Array.from({ length: 1000 }, (_, i) => i * 20);
  t[500] = 1e6; // a jump
  t[700] = -5; // backwards
  assertAlmostEquals(medianRateHz(t), 50, 1e-9);
});

Deno.test("checkRate throws naming file, claimed and measured rate", () => {
  const t = Float64Array.from({ length: 100 }, (_, i) => i * 20);
  assertAlmostEquals(checkRate("a.csv", t, 50), 50, 1e-9);
  assertAlmostEquals(checkRate("a.csv", t, 55, 0.15), 50, 1e-9);
  assertThrows(
    () => checkRate("/x/S006.csv", t, 100),
    DataFormatError,
    "S006.csv: claimed rate 100 Hz but timestamps give 50.00 Hz",
  );
});
