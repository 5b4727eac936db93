// ds(1), written at build time by the hidden `ds __man` from the same
// command tree, config key table, --format fields and exit codes that ds
// itself uses.
#include <CLI/CLI.hpp>
#include <iostream>

#include "client/commands.h"
#include "client/current_format.h"
#include "client/exit_codes.h"
#include "common/cli_doc.h"
#include "common/config.h"
#include "common/strings.h"
#include "common/version.h"

namespace ds::client {
namespace {

using common::RoffEscape;

// Every visible command that runs something, depth first, with its path.
void Leaves(const CLI::App& app, const std::string& path,
            std::vector<std::pair<std::string, const CLI::App*>>& out) {
  std::vector<const CLI::App*> subs;
  for (const CLI::App* sub : app.get_subcommands({})) {
    if (!sub->get_group().empty()) subs.push_back(sub);
  }
  if (subs.empty()) {
    out.emplace_back(path, &app);
    return;
  }
  for (const CLI::App* sub : subs) Leaves(*sub, StrCat(path, " ", sub->get_name()), out);
}

std::string Commands(const CLI::App& root) {
  std::vector<std::pair<std::string, const CLI::App*>> leaves;
  for (const CLI::App* sub : root.get_subcommands({})) {
    if (!sub->get_group().empty()) Leaves(*sub, StrCat("ds ", sub->get_name()), leaves);
  }
  std::string out = ".SH COMMANDS\nEvery command takes \\fB\\-h\\fR, \\fB\\-\\-help\\fR.\n";
  for (const auto& [path, app] : leaves) {
    bool has_options = false;
    for (const CLI::Option* o : app->get_options()) {
      has_options |= o != app->get_help_ptr() && !o->get_positional() && !o->get_group().empty();
    }
    std::string positional = common::PositionalSynopsis(*app);
    StrAppend(&out, ".SS \"", RoffEscape(path), has_options ? " [OPTIONS]" : "",
              positional.empty() ? "" : " ", RoffEscape(positional), "\"\n",
              RoffEscape(app->get_description()), ".\n");
    for (const CLI::Option* o : app->get_options()) {
      if (!o->get_positional()) continue;
      std::string value = common::OptionValueName(*o);
      StrAppend(&out, ".TP\n\\fI", RoffEscape(value.empty() ? o->get_name(true) : value), "\\fR\n",
                RoffEscape(o->get_description()), "\n");
    }
    out += common::RoffOptions(*app);
  }
  return out;
}

std::string FormatFields() {
  std::string out =
      ".SH FORMAT FIELDS\n"
      "\\fBds db current \\-\\-format\\fR \\fITEMPLATE\\fR replaces these fields with the "
      "target database's values; each also exists as \\fB{source_\\fR\\fIfield\\fR\\fB}\\fR "
      "for the source database. \\fB{{\\fR and \\fB}}\\fR are literal braces. When a database "
      "the template reads is not set, nothing is printed and the exit status is 0; an invalid "
      "connection string exits 1.\n";
  for (const FormatField& f : CurrentFormatFields()) {
    StrAppend(&out, ".TP\n\\fB{", RoffEscape(f.name), "}\\fR\n", RoffEscape(f.description), "\n");
  }
  return out;
}

std::string Settings() {
  std::string out =
      ".SH SETTINGS\n"
      "Each setting comes from the highest of these layers that sets it: "
      "\\fB\\-\\-set\\fR \\fIkey\\fR=\\fIvalue\\fR; the variable named below in the "
      "environment of ds; the same variable in the workspace's .env; the workspace's "
      "\\fIds.toml\\fR; \\fI$XDG_CONFIG_HOME/ds/config.toml\\fR; the default. "
      "\\fBds config show\\fR prints every value with where it came from.\n";
  for (const common::ConfigKey& k : common::ConfigKeys()) {
    StrAppend(&out, ".TP\n\\fB", RoffEscape(k.name), "\\fR (\\fB", RoffEscape(k.env_var), "\\fR",
              k.default_value.empty()
                  ? ""
                  : StrCat("; default \\fI", RoffEscape(k.default_value), "\\fR"),
              ")\n", RoffEscape(k.description), "\n");
  }
  return out;
}

std::string ExitStatus() {
  std::string out = ".SH EXIT STATUS\n";
  for (const ExitCodeDoc& e : kExitCodeDocs) {
    StrAppend(&out, ".TP\n.B ", e.code, "\n", RoffEscape(e.meaning), "\n");
  }
  return out;
}

constexpr std::string_view kDescription = R"(.SH NAME
ds \- per\-developer PostgreSQL branches
.SH SYNOPSIS
.B ds
[\fB\-C\fR \fIDIR\fR] [\fB\-\-state\-dir\fR \fIDIR\fR] [\fB\-\-set\fR \fIKEY=VALUE\fR]...
\fICOMMAND\fR [\fIOPTIONS\fR]
.SH DESCRIPTION
.B ds
gives every developer and every CI run its own database branch: which branch
the workspace's \fI.env\fR points at, create and delete branches, apply Drizzle
migrations. It is a thin client of
.BR dsd (8),
the per\-user daemon, which it starts when its socket does not answer.
.PP
The workspace is \fB\-C\fR's directory, else the nearest folder up from the
current one holding \fIds.toml\fR or \fI.env\fR (not above a git repository's
root). Branches live in the embedded local PostgreSQL cluster or in Neon
(setting \fBprovider\fR).
.SH GLOBAL OPTIONS
These may stand before or after the command.
)";

constexpr std::string_view kTail = R"(.SH ENVIRONMENT
Besides the variables of SETTINGS:
.TP
.B DS_STATE_DIR
dsd's state directory (else \fI$XDG_STATE_HOME/ds\fR, else \fI~/.local/state/ds\fR).
.TP
.B XDG_RUNTIME_DIR
Holds \fIds/dsd.sock\fR (else \fI/tmp/ds\-UID\fR).
.TP
.B XDG_CONFIG_HOME\fR, \fBXDG_DATA_HOME
Where \fIds/config.toml\fR, \fIds/credentials\fR and the local clusters live.
.TP
.B DS_NO_SPAWN
When set (and not 0), ds never starts dsd.
.TP
.B DS_DSD
The dsd binary to start (else the one beside ds, else PATH).
.TP
.B NO_COLOR
Turns colour off; \fBCLICOLOR_FORCE\fR or \fBFORCE_COLOR\fR force it on.
.SH FILES
.TP
.I <workspace>/.env
DB_CONNECTION_STRING and SOURCE_DB_CONNECTION_STRING (settings
\fBtarget_var\fR, \fBsource_var\fR), and DS_* settings.
.TP
.I <workspace>/ds.toml
The workspace's settings.
.TP
.I $XDG_CONFIG_HOME/ds/config.toml
The user's settings.
.TP
.I $XDG_CONFIG_HOME/ds/credentials
NEON_API_KEY=... lines; refused unless mode 0600.
.TP
.I $XDG_RUNTIME_DIR/ds/dsd.sock\fR, \fIspawn.lock
dsd's socket, and the lock that makes concurrent ds calls start one dsd.
.TP
.I $XDG_STATE_HOME/ds/dsd.pid\fR, \fIdsd.log\fR, \fIjobs/
The running dsd's pid and version, its log, and the job records.
.TP
.I $XDG_DATA_HOME/ds/pg/
The embedded local PostgreSQL cluster.
.SH EXAMPLES
The branch in a bash prompt (zsh: the same in \fBprecmd\fR):
.PP
.nf
.RS
PS1='$(ds db current \-\-format "[{branch}] " 2>/dev/null)'"$PS1"
.RE
.fi
.PP
Completion for the current shell:
.PP
.nf
.RS
source <(ds completion bash)
.RE
.fi
.SH SEE ALSO
.BR dsd (8),
.BR systemctl (1)
)";

}  // namespace

int RunManPage(const Invocation& inv) {
  std::string out = common::RoffTitle("DS", 1, common::Version(), "ds");
  out += kDescription;
  out += common::RoffOptions(*inv.root);
  out += Commands(*inv.root);
  out += FormatFields();
  out += Settings();
  out += ExitStatus();
  out += kTail;
  std::cout << out;
  return kExitOk;
}

}  // namespace ds::client
