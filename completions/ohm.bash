# bash completion for ohm(1)                                  -*- shell-script -*-
# Subcommands come from `ohm help --commands`, drivers from
# `ohm drivers --names`, inventory names from `ohm help --devices`, and
# variable and command names from `ohm list` (no connection when the driver
# is known), so this file never repeats what the binary knows.

_ohm_run() {
	# the ohm being completed, with the line's --config and -d carried over
	"${_ohm_bin:-ohm}" "$@" 2>/dev/null
}

_ohm() {
	local cur prev words cword
	if declare -F _init_completion >/dev/null; then
		_init_completion -n =: || return
	else
		cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD - 1]}
		words=("${COMP_WORDS[@]}") cword=$COMP_CWORD
	fi
	local _ohm_bin=${words[0]}
	local common="-d --driver --timeout --retries --json --csv --config -v -vv
		--verbose -q --yes -h --help"

	if [[ $cword -eq 1 ]]; then
		if [[ $cur == -* ]]; then
			COMPREPLY=($(compgen -W "-e -i -l -v -vv --verbose --version -h --help --config \
				--timeout --retries" -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(_ohm_run help --commands)" -- "$cur"))
			compopt -o default 2>/dev/null # or a script file
		fi
		return
	fi

	local cmd=${words[1]} i config=() driver=() device="" npos=0
	for ((i = 2; i < cword; i++)); do
		case ${words[i]} in
		--config) config=(--config "${words[i + 1]}"); ((i++)) ;;
		--config=*) config=("${words[i]}") ;;
		-d | --driver) driver=(-d "${words[i + 1]}"); ((i++)) ;;
		--timeout | --retries) ((i++)) ;;
		--file | --jobs | --wait | --settle | --remote-name | --blksize) ((i++)) ;;
		-o | --output | --only) ((i++)) ;;
		--every | --count | --out | --keep-days | --max-size | --shard | \
			--interval | --nut | --prometheus | --telnet | --snmp | --agentx | \
			--mqtt) ((i++)) ;;
		--user | --password-file | --idle-timeout | --max-sessions | \
			--modbus-tcp | --modbus-rtu | --units) ((i++)) ;;
		--rules | --events-log | --since | --device | --traps | --function | \
			--type | --order | --unit | --watch | --units | --port) ((i++)) ;;
		-*) ;;
		*) [[ -z $device ]] && device=${words[i]}; ((npos++)) ;;
		esac
	done

	case $prev in
	-d | --driver)
		COMPREPLY=($(compgen -W "$(_ohm_run drivers --names)" -- "$cur"))
		return ;;
	--type)
		COMPREPLY=($(compgen -W "u16 s16 u32 s32 u64 s64 float32 float64 \
			bool string" -- "$cur"))
		return ;;
	--order) COMPREPLY=($(compgen -W "ABCD CDAB BADC DCBA" -- "$cur")); return ;;
	--function) COMPREPLY=($(compgen -W "1 2 3 4 5 6 15 16" -- "$cur")); return ;;
	--config | --file | --out | --password-file | --modbus-rtu | --check | \
		--rules | --events-log | -o | --output)
		COMPREPLY=($(compgen -f -- "$cur"))
		return ;;
	--timeout | --retries | --jobs | --units | --wait | --settle | \
		--remote-name | --blksize | --every | --count | --keep-days | \
		--max-size | --shard | --interval | --nut | --prometheus | --telnet | \
		--modbus-tcp | --user | --idle-timeout | --max-sessions | --since | \
		--device | --traps | --snmp | --agentx | --mqtt | --only)
		return ;;
	esac

	if [[ $cur == -* ]]; then
		case $cmd in
		list) COMPREPLY=($(compgen -W "$common --all" -- "$cur")) ;;
		set) COMPREPLY=($(compgen -W "$common --force" -- "$cur")) ;;
		cmd) COMPREPLY=($(compgen -W "$common --wait" -- "$cur")) ;;
		drivers) COMPREPLY=($(compgen -W "--json --csv --names --check" -- "$cur")) ;;
		help) COMPREPLY=() ;;
		serve) COMPREPLY=($(compgen -W "$common --telnet --nut --prometheus \
			--mqtt --snmp --agentx --interval --jobs --shard --syslog --user --password-file \
			--idle-timeout --max-sessions --rules --check --events-log \
			--traps" \
			-- "$cur")) ;;
		events) COMPREPLY=($(compgen -W "$common --since --device --follow \
			--events-log" -- "$cur")) ;;
		rules) COMPREPLY=($(compgen -W "$common --dry-run --events-log" \
			-- "$cur")) ;;
		sim) COMPREPLY=($(compgen -W "--modbus-tcp --modbus-rtu --telnet \
			--snmp --units --serial --tcp --packs --runaway --strings --blocks \
			-q --quiet --user \
			--password-file --idle-timeout --max-sessions" -- "$cur")) ;;
		poll) COMPREPLY=($(compgen -W "$common --jobs --shard" -- "$cur")) ;;
		config) COMPREPLY=($(compgen -W "$common -o --output --dry-run --jobs \
			--only" -- "$cur")) ;;
		modbus) COMPREPLY=($(compgen -W "$common --function --type --order \
			--unit --watch" -- "$cur")) ;;
		scan) COMPREPLY=($(compgen -W "$common --units --port --jobs" -- "$cur")) ;;
		record) COMPREPLY=($(compgen -W "$common --every --out --keep-days \
			--max-size --count --jobs" -- "$cur")) ;;
		watch) COMPREPLY=($(compgen -W "$common --every --count" -- "$cur")) ;;
		upgrade) COMPREPLY=($(compgen -W "$common --file --jobs \
			--dry-run --wait --settle --remote-name --blksize" -- "$cur")) ;;
		push) COMPREPLY=($(compgen -W "$common --file --jobs --dry-run \
			--wait --settle --remote-name" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "$common" -- "$cur")) ;;
		esac
		return
	fi

	case $cmd in
	help)
		[[ $npos -eq 0 ]] &&
			COMPREPLY=($(compgen -W "$(_ohm_run help --commands)" -- "$cur"))
		return ;;
	sim)
		[[ $npos -eq 0 ]] &&
			COMPREPLY=($(compgen -W "$(_ohm_run drivers --names)" -- "$cur"))
		return ;;
	drivers | events) return ;;
	config)
		# config save DEVICE | diff FILE DEVICE... | apply FILE DEVICE...
		if [[ $npos -eq 0 ]]; then
			COMPREPLY=($(compgen -W "save diff apply" -- "$cur"))
			return
		fi
		if [[ $npos -eq 1 && ${words[2]} != save ]]; then
			COMPREPLY=($(compgen -f -- "$cur"))
			return
		fi
		npos=0 ;; # then DEVICEs, as for the others
	rules)
		# rules test FILE EVENT DEVICE
		case $npos in
		0) COMPREPLY=($(compgen -W "test" -- "$cur")) ;;
		1) COMPREPLY=($(compgen -f -- "$cur")) ;;
		2) COMPREPLY=($(compgen -W "ONLINE ONBATT LOWBATT FSD COMMOK COMMBAD \
			REPLBATT BYPASS NOTBYPASS OVER NOTOVER CAL NOTCAL OFF NOTOFF \
			ALARM NOTALARM TRAP" -- "$cur")) ;;
		3) COMPREPLY=($(compgen -W "$(_ohm_run help --devices "${config[@]}")" \
			-- "$cur")) ;;
		esac
		return ;;
	modbus | snmp)
		if [[ $npos -eq 0 ]]; then
			[[ $cmd == snmp ]] && COMPREPLY=($(compgen -W "get set" -- "$cur")) ||
				COMPREPLY=($(compgen -W "read write" -- "$cur"))
			return
		fi
		((npos--)) ;; # then DEVICE, as for the others
	esac

	# DEVICE: inventory names, URI schemes, sim:DRIVER
	if [[ $npos -eq 0 || $cmd == upgrade || $cmd == push || $cmd == poll ||
		$cmd == record || $cmd == serve || $cmd == config ]]; then
		local names schemes sims
		names=$(_ohm_run help --devices "${config[@]}")
		schemes=$(_ohm_run drivers --schemes)
		[[ $cmd == upgrade || $cmd == push ]] && schemes="$schemes tftp:// ftp://"
		sims=$(_ohm_run drivers --names | sed 's/^/sim:/')
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W "$names $schemes $sims" -- "$cur"))
		# a complete name gets its space back
		[[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} != *[:/] ]] &&
			COMPREPLY=("${COMPREPLY[0]} ")
		# readline splits words at ':'; hand back only what follows it
		declare -F __ltrim_colon_completions >/dev/null &&
			__ltrim_colon_completions "$cur"
		return
	fi

	# walk OID: the subtrees ohm's drivers read (system, UPS-MIB, BKT)
	if [[ $cmd == walk ]]; then
		[[ $npos -eq 1 ]] && COMPREPLY=($(compgen -W ".1.3.6.1.2.1.1 \
			.1.3.6.1.2.1.33 .1.3.6.1.4.1.47394" -- "$cur"))
		return
	fi

	# VAR names for get/set, COMMAND names for cmd, from `ohm list`
	local list
	case $cmd in
	get | set | cmd | watch) ;;
	*) return ;;
	esac
	list=$(_ohm_run list --timeout 1 --retries 0 "${config[@]}" \
		"${driver[@]}" "$device")
	case $cmd in
	get | watch)
		COMPREPLY=($(compgen -W "$(awk '$3 == "ro" || $3 == "rw" {print $1}' \
			<<<"$list")" \
			-- "$cur")) ;;
	set)
		compopt -o nospace 2>/dev/null
		COMPREPLY=($(compgen -W "$(awk '$3 == "rw" {print $1 "="}' \
			<<<"$list")" -- "$cur")) ;;
	cmd)
		[[ $npos -eq 1 ]] &&
			COMPREPLY=($(compgen -W "$(awk '$3 == "cmd" {print $1}' \
				<<<"$list")" -- "$cur")) ;;
	esac
} &&
	complete -F _ohm ohm
