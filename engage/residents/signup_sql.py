"""The sign-up path's statements, built once.

Sign-up is the endpoint a whole district hits at once. These statements are module constants with bound
parameters, run on the session's connection (Core, no unit of work): SQLAlchemy keys its compiled-SQL
cache on a key computed from the statement object, and a statement built once computes it once.
Inserts take their columns from the parameters given at run time (the models' defaults fill the rest).
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, select, update

from engage.residents.models import Community, Resident, ResidentRole, Subscription, VerificationCode
from engage.sms.models import OptOut, SmsMessage

# A new code replaces older ones: only the latest can be used.
RETIRE_CODES = (
    update(VerificationCode)
    .where(VerificationCode.phone == bindparam("number"), VerificationCode.used_at.is_(None))
    .values(used_at=bindparam("now"))
)
NEW_CODE = insert(VerificationCode)
# Who a code goes to: the language of the resident with the number, if any, and whether it opted out.
CODE_RECIPIENT = select(
    select(Resident.locale).where(Resident.phone == bindparam("number")).scalar_subquery().label("locale"),
    select(OptOut.id).where(OptOut.phone == bindparam("number")).exists().label("opted_out"),
    select(Resident.id)
    .where(Resident.phone == bindparam("number"), Resident.sms_opt_out_at.is_not(None))
    .exists()
    .label("resident_opted_out"),
)
NEW_MESSAGE = insert(SmsMessage).returning(SmsMessage.id)

# The latest code for a number, locked until the request commits, and whether the number is registered.
LATEST_CODE = (
    select(
        VerificationCode.id,
        VerificationCode.code_hash,
        VerificationCode.used_at,
        VerificationCode.attempts,
        VerificationCode.expires_at,
        select(Resident.id).where(Resident.phone == bindparam("number")).exists().label("registered"),
    )
    .where(VerificationCode.phone == bindparam("number"))
    .order_by(VerificationCode.created_at.desc(), VerificationCode.id.desc())
    .limit(1)
    .with_for_update(of=VerificationCode)
)
USE_CODE = (
    update(VerificationCode)
    .where(VerificationCode.id == bindparam("code_id"))
    .values(used_at=bindparam("now"))
)
WRONG_TRY = (
    update(VerificationCode)
    .where(VerificationCode.id == bindparam("code_id"))
    .values(attempts=VerificationCode.attempts + 1)
)

COMMUNITY_IDS = select(Community.code, Community.id)
NEW_RESIDENT = insert(Resident).returning(Resident.id, Resident.pseudonym)
NEW_ROLES = insert(ResidentRole)
NEW_SUBSCRIPTIONS = insert(Subscription)
