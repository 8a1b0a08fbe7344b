#!/usr/bin/env bash
# Create the .env that docker-compose.yml reads, from .env.example, with fresh secrets.
#
#   docker/init-env.sh [TARGET]      (default: .env next to docker-compose.yml)
#
# Every empty secret in .env.example (Postgres and admin passwords, Fernet key, API secret
# key, JWT secret) gets a random value. An existing TARGET is left untouched, so running
# this again never rotates secrets by accident.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
example="${root}/.env.example"
target="${1:-${root}/.env}"

if [[ -e "${target}" ]]; then
    echo "${target} already exists; leaving it alone" >&2
    exit 0
fi

random_token() {  # 32 random bytes, hex: safe inside URLs and shell words
    if command -v openssl >/dev/null; then
        openssl rand -hex 32
    else
        python3 -c 'import secrets; print(secrets.token_hex(32))'
    fi
}

fernet_key() {  # 32 random bytes, URL-safe base64, as cryptography.fernet expects
    if command -v openssl >/dev/null; then
        openssl rand -base64 32 | tr '+/' '-_'
    else
        python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())'
    fi
}

umask 077
tmp="$(mktemp "${target}.XXXXXX")"
trap 'rm -f "${tmp}"' EXIT
while IFS= read -r line || [[ -n "${line}" ]]; do
    case "${line}" in
        POSTGRES_PASSWORD= | YLAI_ADMIN_PASSWORD= | AIRFLOW__API__SECRET_KEY= | AIRFLOW__API_AUTH__JWT_SECRET=)
            line="${line}$(random_token)"
            ;;
        AIRFLOW__CORE__FERNET_KEY=)
            line="${line}$(fernet_key)"
            ;;
    esac
    printf '%s\n' "${line}"
done <"${example}" >"${tmp}"
mv "${tmp}" "${target}"
trap - EXIT
echo "wrote ${target} (mode 600); the admin password is YLAI_ADMIN_PASSWORD in it"
