"""Second opinion for the OCR giro reader: netsgiro (PyPI, pinned 2.0.1).

    python netsgiro_oracle.py generate DIR COUNT SEED
        writes COUNT random valid OCR giro files with netsgiro's own writer into DIR
        (transaction types 10-21, negative amounts, several assignments, CRLF or LF, with or
        without a last newline, Latin-1 text) and prints, as JSON, what netsgiro parses back.
    python netsgiro_oracle.py parse FILE...
        prints, as JSON, what netsgiro parses from each file.

The JSON is {"files": [{"file": NAME, "records": [...]}]}, one object per record with the
fields named as in the Rust record layer (amounts in øre, dates ISO or null).

netsgiro's writer sums amounts without their sign; the control totals here are the signed
net (negative amounts subtracted, as the Nets specification says), written through
netsgiro's own record writer (AssignmentEnd / TransmissionEnd.to_ocr).
"""

import datetime
import json
import random
import sys
from decimal import Decimal

import attr
import netsgiro
from netsgiro import records as R

TEXT_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ abcdefghijklmnopqrstuvwxyz 0123456789 ÆØÅæøå.-/"


def mod10(digits):
    total = 0
    for i, c in enumerate(reversed(digits)):
        p = int(c) * (2 if i % 2 == 0 else 1)
        total += p // 10 + p % 10
    return str((10 - total % 10) % 10)


def mod11(digits):
    total = sum(int(c) * (i % 6 + 2) for i, c in enumerate(reversed(digits)))
    r = total % 11
    return "0" if r == 0 else ("-" if r == 1 else str(11 - r))


def random_kid(rng):
    body = "".join(rng.choice("0123456789") for _ in range(rng.randint(1, 24)))
    roll = rng.random()
    if roll < 0.45:
        return body + mod10(body)
    check = mod11(body)
    if roll < 0.9 and check != "-":
        return body + check
    return body + rng.choice("0123456789")  # often wrong: a warning, not an error


def random_date(rng):
    start = datetime.date(1995, 1, 1)
    return start + datetime.timedelta(days=rng.randint(0, 365 * 65))


def digits(rng, n):
    return "".join(rng.choice("0123456789") for _ in range(n))


def transaction(rng, number):
    kind = rng.randint(10, 21)
    ore = rng.choice([rng.randint(1, 99_999), rng.randint(1, 10**9), rng.randint(1, 10**14)])
    negative = rng.random() < 0.12
    text = None
    if kind in (20, 21):
        text = "".join(rng.choice(TEXT_CHARS) for _ in range(rng.randint(1, 40))).strip() or "X"
    return netsgiro.Transaction(
        service_code=netsgiro.ServiceCode.OCR_GIRO,
        type=kind,
        number=number,
        date=random_date(rng),
        amount=Decimal(ore) / 100,
        kid=random_kid(rng),
        reference=digits(rng, 9),
        text=text,
        centre_id=digits(rng, 2),
        day_code=rng.randint(1, 31),
        partial_settlement_number=rng.randint(0, 9),
        partial_settlement_serial_number=digits(rng, 5),
        sign="-" if negative else "0",
        form_number=digits(rng, 10),
        bank_date=rng.choice([None, random_date(rng)]),
        debit_account=digits(rng, 11),
        filler=rng.choice(["0000000", digits(rng, 7)]),
    )


def signed_ore(t):
    ore = int(t.amount * 100)
    return -ore if t.sign == "-" else ore


def generate_one(rng, index):
    transmission = netsgiro.Transmission(
        number=digits(rng, 7),
        data_transmitter="00008080",
        data_recipient=digits(rng, 8),
        date=random_date(rng),
    )
    for _ in range(rng.randint(1, 4)):
        assignment = transmission.add_assignment(
            service_code=netsgiro.ServiceCode.OCR_GIRO,
            assignment_type=netsgiro.AssignmentType.TRANSACTIONS,
            agreement_id=digits(rng, 9),
            number=digits(rng, 7),
            account=digits(rng, 11),
            date=random_date(rng),
        )
        for n in range(1, rng.randint(1, 30) + 1):
            assignment.transactions.append(transaction(rng, n))
        if sum(signed_ore(t) for t in assignment.transactions) < 0:
            for t in assignment.transactions:
                t.sign = "0"
    records = list(transmission.to_records())
    # Signed net control totals (see the module docs).
    fixed, net, grand = [], 0, 0
    for record in records:
        if isinstance(record, R.AssignmentStart):
            net = 0
        elif isinstance(record, R.TransactionAmountItem1):
            net += -record.amount if record.sign == "-" else record.amount
        elif isinstance(record, R.AssignmentEnd):
            record = attr.evolve(record, total_amount=net)
            grand += net
        elif isinstance(record, R.TransmissionEnd):
            record = attr.evolve(record, total_amount=grand)
        fixed.append(record)
    eol = rng.choice(["\n", "\r\n"])
    text = eol.join(r.to_ocr() for r in fixed)
    if rng.random() < 0.7:
        text += eol
    return text


def iso(d):
    return d.isoformat() if d else None


def dump_record(r):
    common = {"type": int(r.RECORD_TYPE)}
    if isinstance(r, R.TransmissionStart):
        common.update(
            transmission_number=r.transmission_number,
            data_transmitter=r.data_transmitter,
            data_recipient=r.data_recipient,
        )
    elif isinstance(r, R.TransmissionEnd):
        common.update(
            transactions=r.num_transactions,
            records=r.num_records,
            total=r.total_amount,
            date=iso(r.nets_date),
        )
    elif isinstance(r, R.AssignmentStart):
        common.update(
            service_code=int(r.service_code),
            agreement_id=r.agreement_id,
            assignment_number=r.assignment_number,
            account=r.assignment_account,
        )
    elif isinstance(r, R.AssignmentEnd):
        common.update(
            transactions=r.num_transactions,
            records=r.num_records,
            total=r.total_amount,
            date=iso(r.nets_date),
            earliest=iso(r.nets_date_earliest),
            latest=iso(r.nets_date_latest),
        )
    elif isinstance(r, R.TransactionAmountItem1):
        common.update(
            transaction_type=int(r.transaction_type),
            number=r.transaction_number,
            date=iso(r.nets_date),
            amount=r.amount,
            negative=r.sign == "-",
            kid=r.kid,
            centre_id=r.centre_id,
            serial_number=r.partial_settlement_serial_number,
        )
    elif isinstance(r, R.TransactionAmountItem2):
        common.update(
            transaction_type=int(r.transaction_type),
            number=r.transaction_number,
            form_number=r.form_number,
            archive_reference=r.reference,
            bank_date=iso(r.bank_date),
            debit_account=r.debit_account,
        )
    elif isinstance(r, R.TransactionAmountItem3):
        common.update(
            transaction_type=int(r.transaction_type), number=r.transaction_number, text=r.text
        )
    else:
        raise ValueError(f"unexpected record {r!r}")
    return common


def parse_file(path):
    with open(path, encoding="iso-8859-1", newline="") as f:
        data = f.read()
    records = R.parse(data)
    netsgiro.parse(data)  # the object layer must accept it too
    return {"file": path, "records": [dump_record(r) for r in records]}


def main(argv):
    if argv[1] == "generate":
        directory, count, seed = argv[2], int(argv[3]), int(argv[4])
        rng = random.Random(seed)
        files = []
        for i in range(count):
            path = f"{directory}/random-{i:03}.ocr"
            with open(path, "w", encoding="iso-8859-1", newline="") as f:
                f.write(generate_one(rng, i))
            files.append(parse_file(path))
        print(json.dumps({"files": files}))
    elif argv[1] == "parse":
        print(json.dumps({"files": [parse_file(p) for p in argv[2:]]}))
    else:
        raise SystemExit(__doc__)


if __name__ == "__main__":
    main(sys.argv)
