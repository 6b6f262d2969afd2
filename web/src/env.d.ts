// Ambient declarations for the viewer's type check (tsc --checkJs; see tsconfig.json).
declare module "*.css";
declare module "uplot";
