# bash completion for sparse (libsparse). The commands and each command's
# options are read from `sparse --help` and `sparse COMMAND --help`, so they
# follow the installed command; files and directories complete as usual.
_sparse()
{
    local cur prev words cword
    _init_completion -s 2>/dev/null || {
        cur=${COMP_WORDS[COMP_CWORD]}
        prev=${COMP_WORDS[COMP_CWORD - 1]}
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    }
    local sparse=${words[0]} cmd="" i
    for ((i = 1; i < cword; i++)); do
        case ${words[i]} in
        -*) ;;
        *) cmd=${words[i]}; break ;;
        esac
    done
    if [[ -z $cmd ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W '--help --version' -- "$cur"))
        else
            local cmds
            cmds=$("$sparse" --help 2>/dev/null | sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
            COMPREPLY=($(compgen -W "$cmds" -- "$cur"))
        fi
        return
    fi
    case $cmd in
    help)
        COMPREPLY=($(compgen -W "$("$sparse" --help 2>/dev/null |
            sed -n '/^Commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')" -- "$cur"))
        return ;;
    data)
        if [[ $cword -eq $((i + 1)) && $cur != -* ]]; then
            COMPREPLY=($(compgen -W 'fetch info' -- "$cur"))
            return
        fi
        [[ ${words[i + 1]} == fetch && $cword -eq $((i + 2)) && $cur != -* ]] &&
            { COMPREPLY=($(compgen -W 'mnist' -- "$cur")); return; } ;;
    esac
    case $prev in
    --out | --resume | --output-dir)
        COMPREPLY=($(compgen -d -- "$cur")); return ;;
    --data)
        COMPREPLY=($(compgen -W mnist -- "$cur") $(compgen -f -- "$cur")); return ;;
    --trial | --trials | --threads | --seed | --epochs | --batch | --val | --lr | --time-budget | --max-train)
        return ;;
    esac
    if [[ $cur == -* ]]; then
        local sub=()
        [[ $cmd == data && -n ${words[i + 1]} && ${words[i + 1]} != -* ]] && sub=("${words[i + 1]}")
        COMPREPLY=($(compgen -W "$("$sparse" "$cmd" "${sub[@]}" --help 2>/dev/null |
            grep -o -- '--[a-z0-9][a-z0-9-]*' | sort -u)" -- "$cur"))
        return
    fi
    COMPREPLY=($(compgen -f -- "$cur"))
    compopt -o filenames 2>/dev/null
}
complete -F _sparse sparse
