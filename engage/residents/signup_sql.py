"""The sign-up path's statements, built once.

Sign-up is the endpoint a whole district hits at once. These statements are module constants with bound
parameters, run on the session's connection (Core, no unit of work): SQLAlchemy keys its compiled-SQL
cache on a key computed from the statement object, and a statement built once computes it once.
Inserts take their columns from the parameters given at run time (the models' defaults fill the rest).

Round trips are what a sign-up costs most, in the web process and in PostgreSQL alike: on PostgreSQL
the code step writes in one statement and the code and verify steps run without an explicit
transaction (each statement is atomic on its own), saving a BEGIN and a COMMIT each.
"""

from __future__ import annotations

from sqlalchemy import bindparam, insert, literal_column, select, update

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

# PostgreSQL: the three writes of a new code as one statement. Data-modifying CTEs all run, against one
# snapshot: the retiring update does not see the new code, so the new code stays usable.
_RETIRED = RETIRE_CODES.returning(VerificationCode.id).cte("retired")
# Parameter names differ from the column names: given at run time, those would be taken as values for
# the outer insert's columns, and leave the inner ones unbound.
_CODE = (
    insert(VerificationCode)
    .values(
        phone=bindparam("number"),
        code_hash=bindparam("new_code_hash"),
        created_at=bindparam("now"),
        expires_at=bindparam("new_expires_at"),
        attempts=literal_column("0"),
    )
    .returning(VerificationCode.id)
    .cte("new_code")
)
NEW_CODE_AND_MESSAGE = (
    insert(SmsMessage)
    .values(
        to=bindparam("message_to"),
        body=bindparam("message_body"),
        status=bindparam("message_status"),
        attempts=literal_column("0"),
        created_at=bindparam("now"),
    )
    .add_cte(_RETIRED)
    .add_cte(_CODE)
    .returning(SmsMessage.id)
)

# The latest code for a number, and whether the number is registered. Not locked: USE_CODE checks again.
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
)
# The code is used only if it still may be, checked again as the row is written: two tries racing
# with the right code, or a try racing a new code or the fifth wrong try, cannot both win.
USE_CODE = (
    update(VerificationCode)
    .where(
        VerificationCode.id == bindparam("code_id"),
        VerificationCode.used_at.is_(None),
        VerificationCode.attempts < bindparam("max_attempts"),
        VerificationCode.expires_at > bindparam("now"),
    )
    .values(used_at=bindparam("now"))
    .returning(VerificationCode.id)
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
