"""Java: pom.xml (Maven), then build.gradle / build.gradle.kts (Gradle).

Build files are searched as text, not evaluated: a Gradle script is a program, and a pom's
plugins only need to be named to be recognised.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET

from tac_bootstrap.domain.config import Language, PackageManager

from .model import Candidate
from .reading import Reader


def detect_java(files: Reader) -> Candidate | None:
    if not files.matching(Language.JAVA.stack.markers):
        return None
    gradle_file = next((n for n in ("build.gradle", "build.gradle.kts") if files.is_file(n)), None)
    maven = files.is_file("pom.xml")
    pm = PackageManager.MAVEN if maven else PackageManager.GRADLE
    build_file = "pom.xml" if maven else str(gradle_file)
    markers = [m for m in ("pom.xml", gradle_file) if m and files.is_file(m)]
    c = Candidate("java", Language.JAVA, pm, markers=markers)
    text = files.text(build_file, c.evidence) or ""
    if maven and text:
        try:
            ET.fromstring(text)
        except ET.ParseError as exc:
            c.note("pom.xml", f"unreadable: not well-formed XML ({exc})")
    c.note(build_file, f"{'Maven' if maven else 'Gradle'} build -> package manager {pm.value}")
    if maven and gradle_file:
        c.note(gradle_file, "a Gradle build too; pom.xml (Maven) was chosen")
    if build_file.endswith(".kts"):
        c.note(build_file, "Kotlin build script (recorded as java, the closest language)")
    for marker, framework in Language.JAVA.stack.framework_markers:
        if marker in text:
            c.set_framework(framework, build_file, f"mentions {marker}")
            break
    wrapper = "mvnw" if maven else "gradlew"
    tool = f"./{wrapper}" if files.is_file(wrapper) else ("mvn" if maven else "gradle")
    c.note(wrapper if files.is_file(wrapper) else build_file, f"commands run {tool}")
    spring = c.framework == "spring"
    if maven:
        c.commands.update(
            install=f"{tool} install -DskipTests",
            start=_maven_start(tool, text, spring),
            test=f"{tool} test",
            build=f"{tool} package",
            lint=f"{tool} checkstyle:check" if "maven-checkstyle-plugin" in text else "",
            format=_maven_format(tool, text),
        )
    else:
        c.commands.update(
            install=f"{tool} dependencies",
            start=_gradle_start(tool, text, spring),
            test=f"{tool} test",
            build=f"{tool} build",
            lint=f"{tool} checkstyleMain" if "checkstyle" in text else "",
            format=f"{tool} spotlessApply" if "spotless" in text else "",
        )
    return c


# Development modes of the frameworks the registry does not name (they are not Spring): the
# build plugin that provides them is the evidence.
_MAVEN_DEV_GOALS = (
    ("quarkus-maven-plugin", "quarkus:dev"),
    ("micronaut-maven-plugin", "mn:run"),
    ("exec-maven-plugin", "exec:java"),
)
_GRADLE_APPLICATION = re.compile(
    r"""^\s*application\s*(\{|$)|["'](io\.micronaut\.)?application["']""", re.M
)
_GRADLE_QUARKUS = re.compile(r"""["']io\.quarkus["']""")


def _maven_start(tool: str, text: str, spring: bool) -> str:
    if spring:
        return f"{tool} spring-boot:run"
    goal = next((goal for plugin, goal in _MAVEN_DEV_GOALS if plugin in text), None)
    return f"{tool} {goal}" if goal else ""


def _gradle_start(tool: str, text: str, spring: bool) -> str:
    if spring:
        return f"{tool} bootRun"
    if _GRADLE_QUARKUS.search(text):
        return f"{tool} quarkusDev"
    return f"{tool} run" if _GRADLE_APPLICATION.search(text) else ""


def _maven_format(tool: str, text: str) -> str:
    if "spotless-maven-plugin" in text:
        return f"{tool} spotless:apply"
    if "spring-javaformat-maven-plugin" in text:
        return f"{tool} spring-javaformat:apply"
    return ""
