#!/usr/bin/env python3
"""Writes the manual page of the `sparsenas` command or of one of its commands
from the command's own --help text, so the pages list exactly the options
the command takes. Run by the build (cli/meson.build):

    man.py SPARSE VERSION DOCDIR COMMAND OUT.1   # COMMAND: '-' for sparse(1) itself

The --help text has a fixed shape (cli/opts.c): "Usage:" lines, paragraphs,
"Title:" lines heading a list of "  -o, --option ARG  help" entries (help
continued on deeper-indented lines), and closing paragraphs. Sections a
--help has no room for (exit status, files, environment, see also) come from
the tables below."""
import os
import re
import subprocess
import sys

COMMANDS = ['search', 'inspect', 'report', 'export-arch', 'export', 'data', 'train', 'memory', 'eval']
# Subcommands whose own --help joins their command's page.
SUBCOMMANDS = {'data': ['fetch', 'info']}

EXIT_STATUS = [('0', 'success'),
               ('1', 'an error (a message on standard error names what failed and where)'),
               ('2', 'a usage error: an unknown option, a bad value, a missing argument'),
               ('130, 143', '(search) stopped by SIGINT or SIGTERM; every trial recorded is kept')]

FILES = {
    '-': [('DIR/config.yaml, DIR/trials.jsonl, DIR/weights/',
           'a run directory written by sparsenas search: the resolved config, one record per trial, the '
           'trained weights of each trial'),
          ('DIR/state.json, DIR/pareto.csv, DIR/pareto.svg, DIR/report.html',
           'its progress, the Pareto front as a table and a figure, and the whole run as one HTML page'),
          ('$XDG_CACHE_HOME/sparse/mnist', 'the MNIST cache of sparsenas data fetch (default ~/.cache/sparse/mnist)'),
          ('DOCDIR', 'the user guide, the config keys, the formats and the measured results')],
    'search': [('DIR/trials.jsonl', 'one JSON record per trial, appended and fsynced one at a time'),
               ('DIR/report.html', 'the run as one HTML page, rewritten as the search goes (every 10th trial past the 16th)')],
    'report': [('DIR/report.html', 'the page, unless -o names another file')],
    'data': [('$XDG_CACHE_HOME/sparse/mnist', 'the MNIST cache (default ~/.cache/sparse/mnist)')],
}

ENVIRONMENT = [('XDG_CACHE_HOME', 'where sparsenas data fetch keeps data sets (default ~/.cache)'),
               ('OMP_WAIT_POLICY', 'the OpenMP wait policy; sparse sets it to passive unless it is set')]


def roff(text):
    """Plain text as roff: backslashes, leading dots and quotes, dashes."""
    text = text.replace('\\', '\\e').replace('-', '\\-')
    return '\\&' + text if text[:1] in ('.', "'") else text


def help_text(sparse, args):
    out = subprocess.run([sparse] + args + ['--help'], capture_output=True, text=True, check=True,
                         env={'OMP_WAIT_POLICY': 'passive', 'PATH': '/usr/bin:/bin'})
    return out.stdout.rstrip('\n').split('\n')


# A list entry: its term, then (after two spaces or more) its text.
ENTRY = re.compile(r'^  (\S.*?)(?:  +(\S.*))?$')


def parse(lines):
    """(usage lines, blocks): a block is ('para', [lines]) or
    ('list', title, [(term, [help lines])])."""
    usage, blocks, i = [], [], 0
    while i < len(lines) and (lines[i].startswith('Usage:') or (usage and lines[i].startswith('       '))):
        usage.append(lines[i].split(':', 1)[1].strip() if lines[i].startswith('Usage:') else lines[i].strip())
        i += 1
    para = []
    for line in lines[i:] + ['']:
        if line.endswith(':') and not line.startswith(' ') and len(line) < 60:
            if para:
                blocks.append(('para', para))
                para = []
            blocks.append(('list', line[:-1], []))
        elif blocks and blocks[-1][0] == 'list' and line.startswith('  ') and not para:
            entries = blocks[-1][2]
            if line.startswith('   ') and entries:
                entries[-1][1].append(line.strip())
            else:
                m = ENTRY.match(line)
                entries.append((m.group(1).strip(), [m.group(2)] if m.group(2) else []))
        elif line.strip():
            para.append(line.strip())
        elif para:
            blocks.append(('para', para))
            para = []
    return usage, blocks


def term(text):
    """An option term: options and literal words in bold, arguments in italics."""
    def word(p):
        if not p:
            return ''
        literal = p.startswith('-') or re.fullmatch(r'[a-z][a-z0-9-]*', p)
        return ('\\fB' if literal else '\\fI') + roff(p) + '\\fR'
    return ' '.join(','.join(word(p) for p in w.split(',')) for w in text.split(' '))


def section(name, blocks, out):
    for b in blocks:
        if b[0] == 'para':
            out.append('.PP')
            out.extend(roff(line) for line in b[1])
        else:
            out.append('.SS ' + roff(b[1]) if name else '.SH ' + roff(b[1]).upper())
            for t, h in b[2]:
                out.append('.TP')
                out.append(term(t))
                out.extend(roff(line) for line in h)


def page(sparse, version, docdir, cmd):
    prog = os.path.basename(sparse)  # the pages are named after the command as built
    name = prog if cmd == '-' else prog + '-' + cmd
    args = [] if cmd == '-' else [cmd]
    usage, blocks = parse(help_text(sparse, args))
    summary = 'tiny CNNs for microcontrollers by Sparse Architecture Search'
    if cmd != '-':
        for _, title, entries in (b for b in parse(help_text(sparse, []))[1] if b[0] == 'list'):
            summary = next((' '.join(h) for t, h in entries if t == cmd), summary)
    out = ['.\\" Generated by tools/man.py from `%s --help`; do not edit.' % ' '.join([prog] + args),
           '.TH %s 1 "" "libsparse %s" "User Commands"' % (name.upper().replace('-', '\\-'), version),
           '.SH NAME', '%s \\- %s' % (roff(name), roff(summary)), '.SH SYNOPSIS']
    for i, u in enumerate(usage):
        if i:
            out.append('.br')
        out.append(roff(u))
    if blocks and blocks[0][0] == 'para':
        out.append('.SH DESCRIPTION')
    section('', blocks, out)
    for sub in SUBCOMMANDS.get(cmd, []):
        sub_usage, sub_blocks = parse(help_text(sparse, [cmd, sub]))
        out.append('.SH %s' % roff(' '.join([cmd, sub]).upper()))
        out.append('.nf')
        out.extend(roff(u) for u in sub_usage)
        out.append('.fi')
        section(sub, sub_blocks, out)
    out.append('.SH EXIT STATUS')
    for code, what in EXIT_STATUS[:4 if cmd in ('-', 'search') else 3]:
        out.extend(['.TP', '\\fB' + roff(code) + '\\fR', roff(what)])
    if cmd == '-':
        out.append('.SH ENVIRONMENT')
        for var, what in ENVIRONMENT:
            out.extend(['.TP', '\\fB' + roff(var) + '\\fR', roff(what)])
    if cmd in FILES:
        out.append('.SH FILES')
        for f, what in FILES[cmd]:
            f = docdir if f == 'DOCDIR' else f
            out.extend(['.TP', '\\fI' + roff(f) + '\\fR', roff(what)])
    others = [prog] + [prog + '-' + c for c in COMMANDS]
    out.append('.SH SEE ALSO')
    out.append(',\n'.join('\\fB%s\\fR(1)' % roff(o) for o in others if o != name))
    out.append('.PP')
    out.append('The user guide and reference: %s (guide.md, search\\-config.md, formats.md, results.md).'
               % roff(docdir))
    return '\n'.join(out) + '\n'


def main():
    sparse, version, docdir, cmd, path = sys.argv[1:6]
    text = page(sparse, version, docdir, cmd)
    with open(path, 'w', encoding='utf-8') as f:
        f.write(text)


if __name__ == '__main__':
    main()
