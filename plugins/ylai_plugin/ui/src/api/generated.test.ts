// @vitest-environment node
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain ES module of the build scripts, without type declarations
import { TARGETS, isCurrent } from "../../scripts/gen-api.mjs";

interface Target {
  name: string;
  source: () => string | null;
}

// `make test` (ui-test) runs this: a changed OpenAPI document without `npm run gen:api` fails here.
describe("generated API types", () => {
  for (const target of TARGETS as Target[]) {
    // Airflow's document comes with the Python environment (.venv), which `make test` installs
    // before the UI tests; the UI-only CI job has no Airflow and checks ylai's document only.
    it.skipIf(target.source() === null)(`generated/${target.name}.ts matches its OpenAPI document`, async () => {
      expect(await isCurrent(target), `generated/${target.name}.ts is stale: run \`npm run gen:api\` in plugins/ylai_plugin/ui`).toBe(true);
    }, 60_000);
  }
});
