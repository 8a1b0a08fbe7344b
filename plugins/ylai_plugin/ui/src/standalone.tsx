import { createRoot } from "react-dom/client";
import { HistoryApp } from "./Shell";
import { injectStyles } from "./styles";

// ylai's fast standalone view (/ylai/app/<page>): its own React, no Airflow shell. The server's
// HTML already shows the final layout (top bar, tabs, title); React takes over that node.
injectStyles();
const root = document.getElementById("ylai-app");
if (root) createRoot(root).render(<HistoryApp standalone />);
