"""Java: Maven or Gradle (through their wrappers); Spring Boot."""

from __future__ import annotations

from .model import NO_FRAMEWORK, FrameworkSpec, LanguageSpec, PackageManagerSpec

JAVA = LanguageSpec(
    name="java",
    display_name="Java",
    ecosystem="java",
    detection_rank=3,
    markers=("pom.xml", "build.gradle", "build.gradle.kts"),
    package_managers=(
        PackageManagerSpec(
            "maven",
            executable="mvn",
            fields={"tool": "./mvnw"},
            commands={
                "install": "{tool} install",
                "start": "{tool} exec:java",
                "build": "{tool} package",
            },
        ),
        PackageManagerSpec(
            "gradle",
            executable="gradle",
            fields={"tool": "./gradlew"},
            commands={
                "install": "{tool} dependencies",
                "start": "{tool} run",
                "build": "{tool} build",
            },
        ),
    ),
    frameworks=(
        NO_FRAMEWORK,
        FrameworkSpec(
            "spring",
            "Spring",
            notes="- Spring: controllers, services and repositories wired by dependency injection;"
            " use\n  `@WebMvcTest` for web slices and `@SpringBootTest` for full-context tests.",
        ),
    ),
    # Text anywhere in pom.xml or build.gradle(.kts).
    framework_markers=(("org.springframework.boot", "spring"), ("spring-boot", "spring")),
    commands={"test": "{tool} test"},
    source_ext="java",
    test_location="`src/test/java/<package path>/<Class>Test.java`",
    doc_comments="Javadoc comments",
    notes_template="stacks/_java.md.j2",
)
