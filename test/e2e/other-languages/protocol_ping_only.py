# A client that keeps its connection alive the way websockets does by default:
# protocol-level PING frames only (here every 0.5 s), never the text "ping".
# Prints how many PONGs came back, then the close code and reason.
# Run by test/e2e/other-language-clients.test.ts: TOKEN=… python3 protocol_ping_only.py ws://…/ws
import asyncio, os, sys
import websockets


async def main(url: str) -> None:
    pongs = 0
    async with websockets.connect(url, subprotocols=["userhub.v1", f"bearer.{os.environ['TOKEN']}"], ping_interval=None, close_timeout=1) as ws:
        print(await ws.recv(), flush=True)

        async def protocol_pings() -> None:
            nonlocal pongs
            while True:
                await asyncio.sleep(0.5)
                await (await ws.ping())  # waits for the PONG
                pongs += 1

        pinger = asyncio.create_task(protocol_pings())
        try:
            async for frame in ws:
                print(frame, flush=True)
        except websockets.ConnectionClosed:
            pass
        finally:
            pinger.cancel()
    print(f"pongs {pongs}", flush=True)
    print(f"closed {ws.close_code} {ws.close_reason}", flush=True)


asyncio.run(main(sys.argv[1]))
