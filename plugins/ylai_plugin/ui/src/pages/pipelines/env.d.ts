// "umd" in the main bundle's build (vite.config.ts), where the studio is its own file; unset elsewhere.
interface ImportMetaEnv {
  readonly YLAI_STUDIO?: string;
}
