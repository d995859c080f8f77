# Sourced by ./grok, ./quickstart and .ci/run: points JAVA_HOME at a Java 25 JDK or stops with
# a clear message. Honours a JAVA_HOME that already is Java 25+.
# The JDK's release file says its version without starting a JVM (start-up time counts: ./grok
# sources this on every command); `java -version` only when a JDK has no release file.
_grok_java_ok() {
  [[ -x "$1/bin/java" ]] || return 1
  if [[ -f "$1/release" ]]; then grep -Eq '^JAVA_VERSION="(2[5-9]|[3-9][0-9])' "$1/release"
  else "$1/bin/java" -version 2>&1 | grep -Eq 'version "(2[5-9]|[3-9][0-9])'; fi
}
if [[ -n "${JAVA_HOME:-}" ]] && _grok_java_ok "$JAVA_HOME"; then
  :
elif _grok_java_ok /usr/lib/jvm/temurin-25-jdk-amd64; then
  export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
else
  _grok_found=""
  for d in /usr/lib/jvm/*; do if _grok_java_ok "$d"; then _grok_found="$d"; break; fi; done
  if [[ -n "$_grok_found" ]]; then
    export JAVA_HOME="$_grok_found"
  else
    echo "grok-kit needs Java 25 (JDK). None found: JAVA_HOME=${JAVA_HOME:-unset}, nothing usable in /usr/lib/jvm." >&2
    echo "Install Temurin 25 (e.g. at /usr/lib/jvm/temurin-25-jdk-amd64) or set JAVA_HOME to a JDK 25." >&2
    exit 2
  fi
fi
export PATH="$JAVA_HOME/bin:$PATH"
