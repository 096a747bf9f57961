/** Types of console-build.mjs (a plain script, also run by `npm start` without a build step). */
export declare const CONSOLE_SOURCES: readonly string[];
export declare function buildIdPath(root: string): string;
export declare function consoleBuildStale(root: string): string | undefined;
