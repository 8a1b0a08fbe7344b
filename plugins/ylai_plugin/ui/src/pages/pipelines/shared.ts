// The main bundle's modules the studio file (dist/studio.umd.cjs, vite.studio.config.ts) uses
// from it instead of carrying copies: React contexts (language, permissions, navigation) and the
// API client's outage state must be the page's own. main.tsx puts them on globalThis.YlaiShared;
// vite.studio.config.ts maps each import of src/ outside the studio's folders to
// YlaiShared.<path with "/" as "_">. shared.test.ts checks that every such import is here.
import * as api_client from "../../api/client";
import * as components_ApprovalNote from "../../components/ApprovalNote";
import * as components_LogViewer from "../../components/LogViewer";
import * as components_ParamForm from "../../components/ParamForm";
import * as components_TraceLink from "../../components/TraceLink";
import * as components_ui from "../../components/ui";
import * as i18n from "../../i18n";
import * as lib_api from "../../lib/api";
import * as lib_hooks from "../../lib/hooks";
import * as lib_me from "../../lib/me";
import * as lib_nav from "../../lib/nav";
import * as lib_paramForm from "../../lib/paramForm";
import * as lib_schema from "../../lib/schema";

export const SHARED = {
  api_client,
  components_ApprovalNote,
  components_LogViewer,
  components_ParamForm,
  components_TraceLink,
  components_ui,
  i18n,
  lib_api,
  lib_hooks,
  lib_me,
  lib_nav,
  lib_paramForm,
  lib_schema,
};
