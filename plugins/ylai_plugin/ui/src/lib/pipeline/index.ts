export * from "./types";
export * from "./graph";
export * from "./typing";
export * from "./yaml";
export * from "./layout";
export * from "./history";
