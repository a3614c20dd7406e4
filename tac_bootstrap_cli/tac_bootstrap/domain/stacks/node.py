"""TypeScript and JavaScript: one ecosystem (package.json), the same package managers."""

from __future__ import annotations

from .model import NO_FRAMEWORK, FrameworkSpec, LanguageSpec, PackageManagerSpec

# "runner" runs a package.json script, "exec" a tool installed in node_modules.
NODE_PACKAGE_MANAGERS = (
    PackageManagerSpec(
        "npm",
        executable="npm",
        lock_files=("package-lock.json", "npm-shrinkwrap.json"),
        fields={"runner": "npm run", "exec": "npx"},
        add_dependency="npm install",
    ),
    PackageManagerSpec(
        "pnpm",
        executable="pnpm",
        lock_files=("pnpm-lock.yaml",),
        fields={"runner": "pnpm", "exec": "pnpm exec"},
        add_dependency="pnpm add",
    ),
    PackageManagerSpec(
        "yarn",
        executable="yarn",
        lock_files=("yarn.lock",),
        fields={"runner": "yarn", "exec": "yarn"},
        add_dependency="yarn add",
    ),
    PackageManagerSpec(
        "bun",
        executable="bun",
        lock_files=("bun.lockb", "bun.lock"),
        fields={"runner": "bun run", "exec": "bunx"},
        add_dependency="bun add",
    ),
)

EXPRESS = FrameworkSpec(
    "express",
    "Express",
    notes="- Express: routes and middleware are registered on the app or on routers; test handlers"
    " over\n  HTTP (supertest, if the project already uses it).",
)
NESTJS = FrameworkSpec(
    "nestjs",
    "NestJS",
    notes="- NestJS: features are modules with controllers and providers; unit specs sit beside"
    " the code,\n  end-to-end tests in `test/`.",
)
NEXTJS = FrameworkSpec(
    "nextjs",
    "Next.js",
    notes="- Next.js: routes follow the `app/` (or `pages/`) directory; mind the server/client"
    " component split.",
)
REACT = FrameworkSpec(
    "react",
    "React",
    notes="- React: UI is built from components; test them through what the user sees (Testing"
    " Library, if used).",
)
# First match wins: NestJS and Next.js bring express and react along. @nestjs/core marks a
# NestJS project in JavaScript too, where it is not supported: noted, not taken for Express.
NODE_FRAMEWORK_MARKERS = (
    ("@nestjs/core", "nestjs"),
    ("next", "nextjs"),
    ("express", "express"),
    ("react", "react"),
)
_COMMANDS = {
    "install": "{pm} install",
    "start": "{runner} start",
    "test": "{runner} test",
    "lint": "{runner} lint",
    "build": "{runner} build",
}

TYPESCRIPT = LanguageSpec(
    name="typescript",
    display_name="TypeScript",
    ecosystem="node",
    detection_rank=6,
    markers=("package.json",),
    package_managers=NODE_PACKAGE_MANAGERS,
    frameworks=(NO_FRAMEWORK, EXPRESS, NESTJS, NEXTJS, REACT),
    framework_markers=NODE_FRAMEWORK_MARKERS,
    commands={**_COMMANDS, "typecheck": "npx tsc --noEmit"},
    source_ext="ts",
    test_location="`src/<module>.test.ts` (next to the code)",
    doc_comments="JSDoc/TSDoc comments",
    notes_template="stacks/_node.md.j2",
)

JAVASCRIPT = LanguageSpec(
    name="javascript",
    display_name="JavaScript",
    ecosystem="node",
    detection_rank=6,
    markers=("package.json",),
    package_managers=NODE_PACKAGE_MANAGERS,
    frameworks=(NO_FRAMEWORK, EXPRESS, NEXTJS, REACT),
    framework_markers=NODE_FRAMEWORK_MARKERS,
    commands=_COMMANDS,
    source_ext="js",
    test_location="`src/<module>.test.js` (next to the code)",
    doc_comments="JSDoc/TSDoc comments",
    notes_template="stacks/_node.md.j2",
)
