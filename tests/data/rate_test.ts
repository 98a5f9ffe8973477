import { assertAlmostEquals, assertEquals, assertThrows } from "@std/assert";
import { DataFormatError } from "../../lib/errors.ts";
import { checkRate, describeRates, medianRateHz } from "../../lib/data/rate.ts";
import { sha256Hex } from "../../lib/data/download.ts";

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

Deno.test("describeRates: one rate, or range and median; sha256Hex of text = of its UTF-8 bytes", async () => {
  assertEquals(describeRates([{ rateHz: 20 }, { rateHz: 20 }]), "20 Hz");
  assertEquals(
    describeRates([{ rateHz: 98 }, { rateHz: 84.1 }, { rateHz: 90.7 }]),
    "84.1–98 Hz (median 90.7)",
  );
  assertEquals(
    await sha256Hex("abc"),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
  assertEquals(await sha256Hex("→"), await sha256Hex(new TextEncoder().encode("→")));
});
