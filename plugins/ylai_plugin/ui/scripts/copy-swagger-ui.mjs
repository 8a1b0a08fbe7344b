// Copies Swagger UI's prebuilt files (npm swagger-ui-dist) into dist/swagger-ui/, the last step of
// `npm run build`: the interactive API page (/ylai/api/v1/swagger, api/routes/swagger.py) loads
// them from ylai's own /ylai/static/, so nothing comes from a CDN at run time.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const UI = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const SOURCE = dirname(createRequire(import.meta.url).resolve("swagger-ui-dist/package.json"));
const TARGET = join(UI, "dist", "swagger-ui");

// The source maps stay behind (4 MB the page never needs), so their comments go too: a browser
// with its dev tools open would otherwise ask for a .map that is not there.
const CODE = ["swagger-ui-bundle.js", "swagger-ui.css"];
// Swagger UI's licence, its notice and the notices of what its bundle contains ship with it.
const VERBATIM = ["LICENSE", "NOTICE", "swagger-ui-bundle.js.LICENSE.txt", "favicon-32x32.png"];
const SOURCE_MAP = /\n\/[/*]# sourceMappingURL=\S+\s*(\*\/)?\s*$/;

mkdirSync(TARGET, { recursive: true });
for (const name of CODE) {
  const text = readFileSync(join(SOURCE, name), "utf-8");
  writeFileSync(join(TARGET, name), text.replace(SOURCE_MAP, "\n"));
}
for (const name of VERBATIM) copyFileSync(join(SOURCE, name), join(TARGET, name));
const { version } = JSON.parse(readFileSync(join(SOURCE, "package.json"), "utf-8"));
console.log(`swagger-ui-dist ${version}: ${CODE.length + VERBATIM.length} files in ${TARGET}`);
