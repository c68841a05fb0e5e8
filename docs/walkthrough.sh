# The UMA flow against `umagate dev`, step by step (README.md shows this file; the end-to-end
# test `it::dev` runs it). Paste it into a shell, or run it: bash docs/walkthrough.sh
AS=${AS:-http://127.0.0.1:8080}
PROXY=${PROXY:-http://127.0.0.1:8000}
DEV_DIR=${DEV_DIR:-.umagate-dev}
UMAGATE=${UMAGATE:-"cargo run -q --release --"}
GRANT=urn:ietf:params:oauth:grant-type:uma-ticket
ID_TOKEN_FORMAT=http://openid.net/specs/openid-connect-core-1_0.html%23IDToken
field() { sed -n "s/.*\"$1\":\"\([^\"]*\)\".*/\1/p"; }
ticket_of() { sed -n 's/^[Ww][Ww][Ww]-[Aa]uthenticate: UMA .*ticket="\([^"]*\)".*/\1/p'; }
check() { if grep -q -- "$1"; then echo "  ok: $1"; else echo "  UNEXPECTED, wanted: $1" >&2; return 1; fi; }
token() { curl -s -u demo-client:demo-secret -d grant_type=$GRANT "$@" $AS/token; }

# 1. Bob's client calls the API through the proxy without a token: 401 with a permission ticket.
R=$(curl -si $PROXY/albums/holiday); echo "$R" | grep -i '^www-authenticate'
echo "$R" | check 'HTTP/1.1 401'
TICKET=$(echo "$R" | ticket_of)

# 2. It trades the ticket at the AS: need_info, the AS does not know who is asking.
R=$(token -d ticket=$TICKET); echo "$R"
echo "$R" | check '"error":"need_info"'
TICKET=$(echo "$R" | field ticket)

# 3. Bob proves who he is: an ID token pushed as the claim token. Here the admin CLI signs one;
#    a real client signs bob in, or sends his browser to the `redirect_user` URI of step 2.
ID_TOKEN=$($UMAGATE admin --config $DEV_DIR/as.toml token id bob --client demo-client)
R=$(token -d ticket=$TICKET -d claim_token=$ID_TOKEN -d claim_token_format=$ID_TOKEN_FORMAT)
echo "$R" | check '"access_token"'
RPT=$(echo "$R" | field access_token)

# 4. With the RPT the proxy forwards the request: 200 from the demo API, which sees who asked.
R=$(curl -si -H "Authorization: Bearer $RPT" $PROXY/albums/holiday); echo "$R" | tail -1
echo "$R" | check 'HTTP/1.1 200'

# 5. Deleting a photo is up to alice (the policy says ask-owner): request_submitted.
TICKET=$(curl -si -X DELETE $PROXY/albums/holiday/photos/beach | ticket_of)
R=$(token -d ticket=$TICKET -d claim_token=$ID_TOKEN -d claim_token_format=$ID_TOKEN_FORMAT)
echo "$R"; echo "$R" | check '"error":"request_submitted"'
TICKET=$(echo "$R" | field ticket)

# 6. Alice lists what waits for her and approves it (her owner API token from the admin CLI).
OWNER=$($UMAGATE admin --config $DEV_DIR/as.toml token issue alice --client demo-client --scope uma_owner 2>/dev/null)
R=$(curl -s -H "Authorization: Bearer $OWNER" "$AS/owner/requests?status=pending"); echo "$R"
REQUEST=$(echo "$R" | sed -n 's/^\[{"id":"\([^"]*\)".*/\1/p')
curl -s -X POST -H "Authorization: Bearer $OWNER" $AS/owner/requests/$REQUEST/approve | check '"status":"approved"'

# 7. The client polls with its ticket: an RPT now, and the delete goes through.
RPT=$(token -d ticket=$TICKET | field access_token)
curl -si -X DELETE -H "Authorization: Bearer $RPT" $PROXY/albums/holiday/photos/beach | check 'HTTP/1.1 204'

# 8. A denial: bob asks to delete the whiteboard photo; alice says no; the poll is refused.
TICKET=$(curl -si -X DELETE $PROXY/albums/work/photos/whiteboard | ticket_of)
TICKET=$(token -d ticket=$TICKET -d claim_token=$ID_TOKEN -d claim_token_format=$ID_TOKEN_FORMAT | field ticket)
REQUEST=$(curl -s -H "Authorization: Bearer $OWNER" "$AS/owner/requests?status=pending" | sed -n 's/^\[{"id":"\([^"]*\)".*/\1/p')
curl -s -X POST -H "Authorization: Bearer $OWNER" $AS/owner/requests/$REQUEST/deny | check '"status":"denied"'
token -d ticket=$TICKET | check '"error":"request_denied"'

# 9. Sharing: alice lets bob delete any of her photos, no approval needed any more.
curl -s -H "Authorization: Bearer $OWNER" -H 'Content-Type: application/json' \
  -d '{"resource_type":"photo","user":"bob","scopes":["view","delete"]}' $AS/owner/shares | check '"subject"'
TICKET=$(curl -si -X DELETE $PROXY/albums/holiday/photos/sunset | ticket_of)
RPT=$(token -d ticket=$TICKET -d claim_token=$ID_TOKEN -d claim_token_format=$ID_TOKEN_FORMAT | field access_token)
curl -si -X DELETE -H "Authorization: Bearer $RPT" $PROXY/albums/holiday/photos/sunset | check 'HTTP/1.1 204'

# 10. Why could bob do that? Alice reads the decision log.
curl -s -H "Authorization: Bearer $OWNER" "$AS/owner/decisions?limit=3"; echo
