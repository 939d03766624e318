"""Comment syntax per language, keyed by OpenCoder's program_lang names ('python', 'cpp', ...).

Only what the copyright remover needs: the line-comment prefixes and the block-comment
delimiters a file may START with. Names follow the released language table
(opencoder_jax/refinecode/data/language_table.json, e.g. 'cpp', 'csharp', 'shell',
'emacs lisp'); `canonical_language` also accepts common spellings ('C++', 'Python').
Languages absent from the table get no comment syntax, so nothing is ever removed from them.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CommentSyntax:
    line: tuple[str, ...] = ()  # line-comment prefixes, e.g. ("//",)
    block: tuple[tuple[str, str], ...] = ()  # (open, close) pairs, tried before `line`
    nested: bool = False  # block comments nest (Rust, Swift, Haskell, OCaml ...)
    docstring: bool = False  # a leading Python-style string literal counts as a comment


_ALIASES = {
    "c++": "cpp", "c#": "csharp", "cs": "csharp", "objective-c": "objective-c",
    "bash": "shell", "sh": "shell", "zsh": "shell", "js": "javascript", "ts": "typescript",
    "golang": "go", "py": "python", "rb": "ruby", "rs": "rust", "kt": "kotlin",
    "f#": "f#", "fsharp": "f#", "vim": "vim script", "viml": "vim script",
    "elisp": "emacs lisp", "lisp": "common lisp", "batch": "batchfile",
}


def canonical_language(name: str | None) -> str:
    """Lower-case program_lang name; a few common spellings mapped to the table's."""
    key = (name or "").strip().lower()
    return _ALIASES.get(key, key)


_C_BLOCK = (("/*", "*/"),)
_C_STYLE = CommentSyntax(line=("//",), block=_C_BLOCK)
_C_STYLE_NESTED = CommentSyntax(line=("//",), block=_C_BLOCK, nested=True)
_HASH = CommentSyntax(line=("#",))
_DASH = CommentSyntax(line=("--",))
_SEMI = CommentSyntax(line=(";",))
_PERCENT = CommentSyntax(line=("%",))
_XML = CommentSyntax(block=(("<!--", "-->"),))
_ML = CommentSyntax(block=(("(*", "*)"),), nested=True)
_HASKELL = CommentSyntax(line=("--",), block=(("{-", "-}"),), nested=True)
_LISP = CommentSyntax(line=(";",), block=(("#|", "|#"),), nested=True)

_BY_LANGUAGE: dict[str, CommentSyntax] = {}


def _register(syntax: CommentSyntax, *names: str) -> None:
    for name in names:
        _BY_LANGUAGE[name] = syntax


_register(_C_STYLE, "c", "cpp", "csharp", "java", "javascript", "typescript", "tsx", "go",
          "dart", "objective-c", "objective-c++", "objective-j", "groovy", "gradle",
          "cuda", "glsl", "hlsl", "metal", "opencl", "protocol buffer", "solidity", "vala",
          "haxe", "verilog", "systemverilog", "jsonnet", "json with comments", "apex",
          "chapel", "ceylon", "xtend", "processing", "actionscript", "unrealscript", "less",
          "scss", "stylus", "gradle kotlin dsl", "qml", "thrift", "antlr", "yacc", "bison",
          "lex", "flux", "pawn", "sourcepawn", "squirrel", "angelscript", "c2hs haskell",
          "nextflow", "webidl", "smali", "hack", "glimmer js", "edgeql", "cue", "prisma",
          "wgsl", "zenscript", "circom", "move", "cairo", "ballerina", "unified parallel c",
          "holyc", "ec", "nesc", "xc", "pike", "gsc", "witcher script", "mql4", "mql5",
          "renderscript", "gosu", "dm", "nemerle", "ooc", "bicep")
_register(_C_STYLE_NESTED, "rust", "swift", "scala", "kotlin", "d", "sway", "odin", "mojo")
_register(CommentSyntax(block=_C_BLOCK), "css", "postcss")
_register(CommentSyntax(line=("//", "#"), block=_C_BLOCK), "php", "hcl", "terraform template")
_register(CommentSyntax(line=("//",)), "zig", "gleam", "vhdl-ams")
_register(_HASH, "shell", "r", "yaml", "cmake", "makefile", "dockerfile", "toml",
          "elixir", "tcl", "awk", "crystal", "nix", "gdscript", "raku", "fish", "tcsh",
          "python traceback", "cython", "snakemake", "gentoo ebuild",
          "gentoo eclass", "bitbake", "dotenv", "ignore list", "git config", "editorconfig",
          "nginx", "apacheconf", "gnuplot", "haproxy", "sage", "xonsh", "graphql", "gn",
          "meson", "just", "ninja", "robotframework", "saltstack", "nanorc", "caddyfile",
          "easybuild", "smpl", "stan", "puppet", "qmake", "elvish", "pan", "hy", "coffeescript",
          "nushell", "nu", "desktop", "selinux policy", "zeek", "pep8", "module management system")
_register(CommentSyntax(line=("#",), docstring=True, block=(('"""', '"""'), ("'''", "'''"))),
          "python", "numpy", "starlark", "bazel")
_register(CommentSyntax(line=("#",), block=(("=begin", "=end"),)), "ruby")
_register(CommentSyntax(line=("#",), block=(("=pod", "=cut"), ("=head1", "=cut"))), "perl")
_register(CommentSyntax(line=("#",), block=(("#=", "=#"),), nested=True), "julia")
_register(CommentSyntax(line=("#",), block=(("#[", "]#"),), nested=True), "nim")
_register(CommentSyntax(line=("#",), block=(("<#", "#>"),)), "powershell")
_register(CommentSyntax(line=("#", ";")), "ini")
_register(CommentSyntax(line=("--",), block=(("--[==[", "]==]"), ("--[=[", "]=]"), ("--[[", "]]"))),
          "lua", "luau")
_register(CommentSyntax(line=("--",), block=_C_BLOCK), "sql", "plsql", "plpgsql", "hiveql",
          "tsql", "mysql", "postgresql", "cql")
_register(_DASH, "ada", "vhdl", "applescript", "eiffel")
_register(_HASKELL, "haskell", "elm", "purescript", "idris", "agda", "literate haskell",
          "curry", "dhall")
_register(_SEMI, "assembly", "motorola 68k assembly", "llvm", "fennel", "janet", "nasl",
          "autohotkey", "autoit", "mcfunction", "zil", "redcode", "rebol", "red")
_register(_LISP, "common lisp", "emacs lisp", "clojure", "scheme", "racket", "lfe", "edn")
_register(_PERCENT, "tex", "erlang", "postscript", "mercury", "bibtex", "lilypond")
_register(CommentSyntax(line=("%",), block=(("%{", "%}"),)), "matlab", "octave")
_register(CommentSyntax(line=("%",), block=_C_BLOCK), "prolog", "logtalk")
_register(_XML, "html", "xml", "svg", "vue", "svelte", "markdown", "xslt", "xhtml", "astro",
          "html+erb", "html+php", "html+razor", "html+eex", "html+ecr", "xml property list",
          "mdx", "xproc", "web ontology language", "collada", "marko", "riot")
_register(_ML, "ocaml", "standard ml", "coq", "mathematica", "isabelle", "reasonligo",
          "cameligo", "ligolang", "f*")
_register(CommentSyntax(line=("//",), block=(("(*", "*)"),), nested=True), "f#")
_register(CommentSyntax(line=("//",), block=(("{", "}"), ("(*", "*)"))), "pascal",
          "component pascal", "oxygene", "freebasic")
_register(CommentSyntax(line=("!",)), "fortran", "fortran free form")
_register(CommentSyntax(line=("'",)), "vba", "visual basic .net", "visual basic 6.0", "vbscript")
_register(CommentSyntax(line=('"',)), "vim script")
_register(CommentSyntax(line=("::", "rem ", "REM ", "@rem ", "@REM ")), "batchfile")


def syntax_for(language: str | None) -> CommentSyntax | None:
    """The comment syntax of a language, or None when unknown (then nothing is removed)."""
    return _BY_LANGUAGE.get(canonical_language(language))


def known_languages() -> tuple[str, ...]:
    return tuple(sorted(_BY_LANGUAGE))
